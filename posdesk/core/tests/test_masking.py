"""Masking of personal data for lists, logs and API answers, and the log filter that applies it."""

from __future__ import annotations

import io
import logging

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from posdesk.core.logging import MaskPersonalDataFilter
from posdesk.core.masking import mask_email, mask_id_number, mask_mobile, mask_text

mobiles = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
no_digits = st.text(
    alphabet=st.characters(blacklist_categories=["Nd"], blacklist_characters="+"), max_size=20
)


@given(mobile=mobiles)
def test_any_mobile_masks_to_first_three_stars_and_last_four(mobile):
    masked = mask_mobile(mobile)
    assert masked == f"{mobile[:3]}****{mobile[-4:]}"
    # the four middle digits never appear where they were
    assert not any(c.isdigit() for c in masked[3:7])


@given(mobile=mobiles)
def test_a_mobile_with_a_country_code_masks_the_same_way(mobile):
    assert mask_mobile(f"+86 {mobile}") == f"{mobile[:3]}****{mobile[-4:]}"


def test_mask_mobile_examples():
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("138-1234-5678") == "138****5678"
    assert mask_mobile("") == ""
    assert mask_mobile(None) == ""
    assert mask_mobile("1234") == "****"
    assert mask_mobile("057187654321") == "057*******21"


def test_id_numbers_keep_only_the_first_six_and_last_four():
    assert mask_id_number("330102199001011234") == "330102********1234"
    assert mask_id_number("12345") == "12***"
    assert mask_id_number(None) == ""


def test_emails_keep_the_first_letter_and_the_domain():
    assert mask_email("zhang.laoban@example.cn") == "z***@example.cn"
    assert mask_email("") == ""
    assert mask_email("not-an-email") == "not-an-email"


@given(
    mobile=mobiles,
    before=no_digits,
    after=no_digits,
    prefix=st.sampled_from(["", "+86", "+86 ", "0086"]),
    separator=st.sampled_from(["", " ", "-"]),
)
def test_mobiles_inside_text_are_masked_however_they_are_written(mobile, before, after, prefix, separator):
    written = prefix + separator.join([mobile[:3], mobile[3:7], mobile[7:]])
    assert mask_text(f"{before}{written}{after}") == f"{before}{prefix}{mobile[:3]}****{mobile[7:]}{after}"


def test_longer_digit_runs_are_not_taken_for_mobiles():
    assert (
        mask_text("MID 898330160120021, order 2026013812345678")
        == "MID 898330160120021, order 2026013812345678"
    )


def _log_through_filter(message: str, *args: object, **extra: object) -> tuple[str, logging.LogRecord]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalDataFilter())
    captured: list[logging.LogRecord] = []
    handler.emit = lambda record, emit=handler.emit: (captured.append(record), emit(record))  # type: ignore[method-assign]
    logger = logging.getLogger("posdesk.tests.masking")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info(message, *args, extra=extra)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue(), captured[0]


def test_the_log_filter_masks_mobiles_in_messages_and_their_arguments():
    line, _ = _log_through_filter("sms to %s: 您的验证码 %s", "13812345678", "123456")
    assert "13812345678" not in line
    assert "138****5678" in line
    assert "123456" in line  # not a mobile


def test_the_log_filter_masks_mobiles_in_extra_fields():
    _, record = _log_through_filter(
        "request", path="/portal/merchants/13812345678", pd_mobile="13900001111", status=200
    )
    assert record.path == "/portal/merchants/138****5678"
    assert record.pd_mobile == "139****1111"
    assert record.status == 200


def test_every_log_handler_of_the_configuration_masks_personal_data():
    handlers = settings.LOGGING["handlers"]
    assert handlers
    assert all("mask_personal_data" in handler.get("filters", []) for handler in handlers.values())
    assert (
        settings.LOGGING["filters"]["mask_personal_data"]["()"]
        == "posdesk.core.logging.MaskPersonalDataFilter"
    )


@pytest.mark.parametrize("text", [
    "Forbidden: /wechat/?signature=abc&timestamp=1&nonce=2&openid=o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
    "Forbidden: /wechat/?openid=o6_bmjrPTlm6_2sgVt7hMZOPfL2M&signature=abc",
    'push refused FromUserName="o6_bmjrPTlm6_2sgVt7hMZOPfL2M"',
])
def test_openids_in_urls_and_text_keep_only_their_first_three_characters(text):
    masked = mask_text(text)
    assert "o6_bmjrPTlm6_2sgVt7hMZOPfL2M" not in masked
    assert "o6_***" in masked


def test_the_log_filter_masks_openids_in_djangos_request_warnings():
    line, _ = _log_through_filter("Forbidden: %s", "/wechat/?signature=s&openid=oABCDEFGHIJKLMNOPQRS")
    assert "oABCDEFGHIJKLMNOPQRS" not in line and "openid=oAB***" in line
