"""The SMS provider interface, the embedded local provider, mobile normalisation and the "TD"
opt-out rule (SPEC C3, C4)."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posdesk.channels.sms import providers
from posdesk.channels.sms.aliyun import AliyunSmsProvider
from posdesk.channels.sms.providers import (
    LocalSmsProvider,
    SendResult,
    SmsError,
    SmsProvider,
    is_unsubscribe,
)
from posdesk.core.identifiers import normalise_mobile
from posdesk.core.tests.concurrency import run_together

FROZEN_NOW = datetime(2025, 3, 4, 1, 2, 3, tzinfo=UTC)

mobiles = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)


def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- the local provider -------------------------------------------------------------------------


def test_the_local_provider_writes_one_json_line_per_message(tmp_path):
    # given
    outbox = tmp_path / "data" / "sms.jsonl"
    provider = LocalSmsProvider(outbox, clock=lambda: FROZEN_NOW)

    # when
    first = provider.send(
        mobile="+86 138 0013 8000", text="您的工单 T-1001 已受理。回TD退订", reference="out-1"
    )
    second = provider.send(mobile="13900139000", text="工程师明天上午上门", reference="out-2")

    # then
    assert first == SendResult(provider="local", provider_message_id=first.provider_message_id, accepted=True)
    assert first.provider_message_id.startswith("local-")
    assert read_lines(outbox) == [
        {
            "id": first.provider_message_id,
            "mobile": "13800138000",
            "text": "您的工单 T-1001 已受理。回TD退订",
            "reference": "out-1",
            "sent_at": "2025-03-04T01:02:03+00:00",
        },
        {
            "id": second.provider_message_id,
            "mobile": "13900139000",
            "text": "工程师明天上午上门",
            "reference": "out-2",
            "sent_at": "2025-03-04T01:02:03+00:00",
        },
    ]


def test_the_local_provider_logs_the_message_with_every_mobile_masked(tmp_path, caplog):
    # given
    provider = LocalSmsProvider(tmp_path / "sms.jsonl")
    caplog.set_level(logging.INFO, logger="posdesk.sms")

    # when
    provider.send(mobile="13800138000", text="如有疑问请致电 13912345678", reference="out-7")

    # then
    records = [r for r in caplog.records if r.name == "posdesk.sms"]
    assert len(records) == 1
    line = records[0].getMessage()
    assert "138****8000" in line and "139****5678" in line and "out-7" in line
    assert "13800138000" not in line and "13912345678" not in line


def test_the_same_outbox_message_gets_the_same_id_and_different_messages_different_ids(tmp_path):
    # given
    provider = LocalSmsProvider(tmp_path / "sms.jsonl")

    # when
    original = provider.send(mobile="13800138000", text="A", reference="out-1")
    retried = provider.send(mobile="13800138000", text="A", reference="out-1")
    other_reference = provider.send(mobile="13800138000", text="A", reference="out-2")
    other_text = provider.send(mobile="13800138000", text="B", reference="out-1")
    other_mobile = provider.send(mobile="13900139000", text="A", reference="out-1")

    # then
    assert original.provider_message_id == retried.provider_message_id
    ids = {
        original.provider_message_id,
        other_reference.provider_message_id,
        other_text.provider_message_id,
        other_mobile.provider_message_id,
    }
    assert len(ids) == 4


def forget_what_this_process_read():
    """As after a restart: only the file remembers which keys were accepted."""
    providers._accepted_by_path.clear()


def test_a_repeated_idempotency_key_is_answered_with_the_first_result_without_sending_again(tmp_path):
    # given a message the local provider accepted under a key
    outbox = tmp_path / "sms.jsonl"
    first = LocalSmsProvider(outbox).send(
        mobile="13800138000", text="工程师明天上午上门", reference="outbox-1", idempotency_key="posdesk-k1"
    )

    # when the same message comes again with the same key, after a restart
    forget_what_this_process_read()
    again = LocalSmsProvider(outbox).send(
        mobile="+86 138 0013 8000",
        text="工程师明天上午上门",
        reference="outbox-1",
        idempotency_key="posdesk-k1",
    )

    # then the answer is the first one and the file still holds one message, under its key
    assert again == first
    [line] = read_lines(outbox)
    assert (line["id"], line["idempotency_key"]) == (first.provider_message_id, "posdesk-k1")


def test_keys_another_process_wrote_since_are_honoured(tmp_path):
    # given a provider that has read the file once
    outbox = tmp_path / "sms.jsonl"
    provider = LocalSmsProvider(outbox)
    provider.send(mobile="13800138000", text="A", reference="outbox-1", idempotency_key="posdesk-k1")
    # when another worker appends a message under another key
    other = LocalSmsProvider(outbox)
    forget_what_this_process_read()
    accepted_there = other.send(
        mobile="13800138000", text="B", reference="outbox-2", idempotency_key="posdesk-k2"
    )
    # then this provider answers that key with the other worker's result
    again = provider.send(mobile="13800138000", text="B", reference="outbox-2", idempotency_key="posdesk-k2")
    assert again == accepted_there
    assert len(read_lines(outbox)) == 2


def test_a_key_first_used_for_another_message_is_refused_for_good(tmp_path):
    provider = LocalSmsProvider(tmp_path / "sms.jsonl")
    provider.send(mobile="13800138000", text="A", reference="outbox-1", idempotency_key="posdesk-k1")
    with pytest.raises(SmsError) as refused:
        provider.send(mobile="13800138000", text="not A", reference="outbox-1", idempotency_key="posdesk-k1")
    assert (refused.value.code, refused.value.retryable) == ("idempotency_key_reused", False)
    assert len(read_lines(tmp_path / "sms.jsonl")) == 1


def test_workers_sending_one_key_at_the_same_moment_send_it_once(tmp_path):
    # given one message and eight threads, each with its own provider (own file handle and lock)
    outbox = tmp_path / "sms.jsonl"

    def send():
        return LocalSmsProvider(outbox).send(
            mobile="13800138000", text="A", reference="outbox-1", idempotency_key="posdesk-k1"
        )

    # when they all send it at once
    results = run_together(*[send] * 8)

    # then all got the same answer and one line was written
    assert len(set(results)) == 1 and isinstance(results[0], SendResult)
    assert len(read_lines(outbox)) == 1


def test_the_local_provider_honours_keys_and_aliyun_says_it_does_not():
    assert LocalSmsProvider.idempotent_sends is True
    assert AliyunSmsProvider.idempotent_sends is False


@pytest.mark.parametrize(
    ("mobile", "text", "reference", "code"),
    [
        ("12345", "hello", "out-1", "invalid_mobile"),
        ("02887654321", "hello", "out-1", "invalid_mobile"),
        ("13800138000", "   ", "out-1", "empty_text"),
        ("13800138000", "hello", "", "missing_reference"),
    ],
)
def test_the_local_provider_refuses_what_no_real_gateway_would_send(tmp_path, mobile, text, reference, code):
    # given
    outbox = tmp_path / "sms.jsonl"
    provider = LocalSmsProvider(outbox)

    # when
    with pytest.raises(SmsError) as refused:
        provider.send(mobile=mobile, text=text, reference=reference)

    # then
    assert refused.value.code == code
    assert refused.value.retryable is False
    assert refused.value.provider == "local"
    assert not outbox.exists()


def test_an_invalid_mobile_is_masked_in_the_error_message(tmp_path):
    with pytest.raises(SmsError) as refused:
        LocalSmsProvider(tmp_path / "sms.jsonl").send(mobile="1380013800099", text="x", reference="r")
    assert "1380013800099" not in str(refused.value)


def test_both_providers_satisfy_the_provider_interface(tmp_path):
    assert isinstance(LocalSmsProvider(tmp_path / "sms.jsonl"), SmsProvider)
    assert isinstance(AliyunSmsProvider("id", "secret", "签名", "SMS_1"), SmsProvider)


def test_a_send_result_cannot_be_changed_after_the_fact():
    result = SendResult(provider="local", provider_message_id="local-1", accepted=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.accepted = False  # type: ignore[misc]


def test_a_refused_send_is_recorded_in_the_same_shape_as_an_accepted_one():
    # given
    error = SmsError("throttled", code="isv.BUSINESS_LIMIT_CONTROL", retryable=True, provider="aliyun")

    # when
    result = SendResult.refused("aliyun", error)

    # then
    assert result == SendResult(
        provider="aliyun",
        provider_message_id="",
        accepted=False,
        error_code="isv.BUSINESS_LIMIT_CONTROL",
        error_message="throttled",
    )


# --- mobile normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("13800138000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        (" 13800138000 ", "13800138000"),
        ("0571-87654321", "057187654321"),  # a landline stays as it was, for the caller to refuse
        ("", ""),
        (None, ""),
    ],
)
def test_mobiles_are_normalised_to_eleven_digits(written, normalised):
    assert normalise_mobile(written) == normalised


@given(mobile=mobiles, prefix=st.sampled_from(["", "+86", "86", "0086", "+86 ", "86-"]))
def test_any_mainland_mobile_with_any_country_prefix_normalises_to_itself(mobile, prefix):
    assert normalise_mobile(f"{prefix}{mobile}") == mobile


# --- the opt-out reply --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "TD",
        "td",
        "Td",
        "T D",
        "ＴＤ",  # full-width, as Chinese keyboards type it
        "TD。",
        " td! ",
        "退订",
        "退订 谢谢",
        "退订谢谢",
        "请退订",
        "我要退订",
        "退订了",
        "好的，TD，谢谢",
        "退订，别再发了",
        "别再发了 TD",
        "取消订阅",
        "unsubscribe",
        "STOP",
        "Stop please",
        "Please stop",
    ],
)
def test_a_clear_opt_out_reply_unsubscribes(reply):
    assert is_unsubscribe(reply) is True


@pytest.mark.parametrize(
    "reply",
    [
        "",
        None,
        "   ",
        "谢谢",
        "N",  # an answer to "reply Y/N" in an appointment text, not an opt-out
        "T",
        "R",
        "Y",
        "1",
        "Ltd",
        "std",
        "tdx",
        "POS机显示TD错误",
        "请问TD是什么意思",
        "我不想退订",
        "don't stop",
        "刷卡机坏了，麻烦尽快上门",
    ],
)
def test_other_replies_do_not_unsubscribe(reply):
    assert is_unsubscribe(reply) is False


@given(
    before=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8),
    after=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", max_size=8),
)
def test_td_inside_a_word_never_unsubscribes(before, after):
    assert is_unsubscribe(f"{before}td{after}") is False
    assert is_unsubscribe(f"{after}td{before}") is False
