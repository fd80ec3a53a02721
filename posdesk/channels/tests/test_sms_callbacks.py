"""Aliyun SMS pushes: delivery receipts and merchants' replies, and the HMAC that protects the
webhook (Aliyun itself does not sign them)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posdesk.channels.sms.callbacks import (
    MAX_CALLBACK_BYTES,
    CallbackRejected,
    DeliveryReceipt,
    InboundSms,
    callback_signature,
    parse_delivery_receipts,
    parse_inbound_messages,
    verify_callback,
    verify_url_token,
)

SECRET = "webhook-secret-shared-with-the-proxy"
NOW = datetime(2025, 3, 4, 1, 2, 3, tzinfo=UTC)
TIMESTAMP = str(int(NOW.timestamp()))


def body_of(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def receipt(**fields) -> dict:
    # The example from Aliyun's SmsReport page, with a real-looking number and ids.
    return {
        "phone_number": "13800138000",
        "send_time": "2017-01-01 00:00:00",
        "report_time": "2017-01-01 00:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "900619746936498^0",
        "out_id": "outbox-42",
        **fields,
    }


def reply(**fields) -> dict:
    # The shape of Aliyun's SmsUp push.
    return {
        "phone_number": "13800138000",
        "send_time": "2025-03-04 09:00:00",
        "content": "TD",
        "sign_name": "杭州收单服务",
        "dest_code": "1234",
        "sequence_id": 1234567890,
        **fields,
    }


# --- the webhook signature ----------------------------------------------------------------------


def test_a_correctly_signed_push_is_accepted():
    # given
    body = body_of([receipt()])
    signature = callback_signature(SECRET, TIMESTAMP, body)

    # when / then no exception
    verify_callback(SECRET, TIMESTAMP, signature, body, NOW)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # the proxy in front of posdesk computes exactly this (see the module docstring)
    body = b"[]"
    expected = hmac.new(SECRET.encode(), f"{TIMESTAMP}.".encode() + body, hashlib.sha256).hexdigest()
    assert callback_signature(SECRET, TIMESTAMP, body) == expected
    assert callback_signature(SECRET.encode(), int(TIMESTAMP), body) == expected


@pytest.mark.parametrize(
    "forged",
    [
        "0" * 64,
        callback_signature("another-secret", TIMESTAMP, b"[]"),
        callback_signature(SECRET, str(int(TIMESTAMP) - 1), b"[]"),  # signed for another time
        "签名",  # non-ASCII must be refused, not crash the comparison
        "abc",
    ],
)
def test_a_forged_signature_is_refused(forged):
    with pytest.raises(CallbackRejected) as rejected:
        verify_callback(SECRET, TIMESTAMP, forged, b"[]", NOW)
    assert rejected.value.reason == "bad_signature"


def test_a_body_changed_after_signing_is_refused():
    # given
    signed_body = body_of([receipt(success=False, err_code="MK:0000")])
    signature = callback_signature(SECRET, TIMESTAMP, signed_body)
    tampered = body_of([receipt(success=True)])

    # when / then
    with pytest.raises(CallbackRejected) as rejected:
        verify_callback(SECRET, TIMESTAMP, signature, tampered, NOW)
    assert rejected.value.reason == "bad_signature"


@pytest.mark.parametrize(("signature", "reason"), [(None, "missing_signature"), ("", "missing_signature")])
def test_a_push_without_a_signature_is_refused(signature, reason):
    with pytest.raises(CallbackRejected) as rejected:
        verify_callback(SECRET, TIMESTAMP, signature, b"[]", NOW)
    assert rejected.value.reason == reason


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        (None, "missing_timestamp"),
        ("", "missing_timestamp"),
        ("yesterday", "bad_timestamp"),
        ("-5", "bad_timestamp"),
        ("1.5e9", "bad_timestamp"),
        ("１７４１０５０１２３", "bad_timestamp"),  # full-width digits are not Unix seconds
        ("9" * 40, "bad_timestamp"),
    ],
)
def test_a_push_without_a_usable_timestamp_is_refused(timestamp, reason):
    signature = callback_signature(SECRET, timestamp or "", b"[]")
    with pytest.raises(CallbackRejected) as rejected:
        verify_callback(SECRET, timestamp, signature, b"[]", NOW)
    assert rejected.value.reason == reason


@pytest.mark.parametrize("age", [timedelta(seconds=301), timedelta(hours=2), timedelta(seconds=-301)])
def test_a_replayed_push_with_a_stale_or_future_timestamp_is_refused(age):
    # given a push correctly signed, but at another time
    then = str(int((NOW - age).timestamp()))
    body = body_of([receipt()])
    signature = callback_signature(SECRET, then, body)

    # when / then
    with pytest.raises(CallbackRejected) as rejected:
        verify_callback(SECRET, then, signature, body, NOW)
    assert rejected.value.reason == "stale_timestamp"


def test_a_push_just_inside_the_allowed_skew_is_accepted():
    then = str(int((NOW - timedelta(seconds=300)).timestamp()))
    body = b"[]"
    verify_callback(SECRET, then, callback_signature(SECRET, then, body), body, NOW)


def test_the_allowed_skew_can_be_tightened():
    then = str(int((NOW - timedelta(seconds=61)).timestamp()))
    body = b"[]"
    with pytest.raises(CallbackRejected) as rejected:
        verify_callback(SECRET, then, callback_signature(SECRET, then, body), body, NOW, max_skew=60)
    assert rejected.value.reason == "stale_timestamp"


@pytest.mark.parametrize("body", [b"[{", b"not json", b"", b"\xff\xfe[]", b"[" * 100_000 + b"]" * 100_000])
def test_a_correctly_signed_body_that_is_not_json_is_refused(body):
    signature = callback_signature(SECRET, TIMESTAMP, body)
    with pytest.raises(CallbackRejected) as rejected:
        verify_callback(SECRET, TIMESTAMP, signature, body, NOW)
    assert rejected.value.reason == "malformed_json"


def test_a_body_over_one_mebibyte_is_refused_before_anything_else():
    # given a well-formed, correctly signed, but oversized body
    body = body_of(["x" * MAX_CALLBACK_BYTES])
    signature = callback_signature(SECRET, TIMESTAMP, body)

    # when / then the size check wins, even with no signature at all
    for given_signature in (signature, None):
        with pytest.raises(CallbackRejected) as rejected:
            verify_callback(SECRET, TIMESTAMP, given_signature, body, NOW)
        assert rejected.value.reason == "body_too_large"


def test_a_body_of_exactly_one_mebibyte_is_allowed():
    body = body_of(["x" * (MAX_CALLBACK_BYTES - 4)])
    assert len(body) == MAX_CALLBACK_BYTES
    verify_callback(SECRET, TIMESTAMP, callback_signature(SECRET, TIMESTAMP, body), body, NOW)


@given(payload=st.lists(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3), max_size=5))
def test_any_json_array_signed_with_the_secret_verifies_and_with_another_does_not(payload):
    body = body_of(payload)
    verify_callback(SECRET, TIMESTAMP, callback_signature(SECRET, TIMESTAMP, body), body, NOW)
    with pytest.raises(CallbackRejected):
        verify_callback(SECRET, TIMESTAMP, callback_signature(SECRET + "x", TIMESTAMP, body), body, NOW)


def test_the_url_token_fallback_accepts_only_the_exact_token():
    verify_url_token("k3y-token-0123456789", "k3y-token-0123456789")
    for presented in ("k3y-token-012345678", "", None, "令牌"):
        with pytest.raises(CallbackRejected) as rejected:
            verify_url_token("k3y-token-0123456789", presented)
        assert rejected.value.reason == "bad_token"
    with pytest.raises(CallbackRejected):
        verify_url_token("", "")  # an unconfigured token never lets anyone in


# --- delivery receipts --------------------------------------------------------------------------


def test_a_delivered_receipt_is_read_with_its_times_converted_from_beijing_to_utc():
    # when
    [parsed] = parse_delivery_receipts(body_of([receipt()]))

    # then
    assert parsed == DeliveryReceipt(
        provider="aliyun",
        provider_message_id="900619746936498^0",
        reference="outbox-42",
        mobile="13800138000",
        delivered=True,
        error_code="",
        error_message="",
        sent_at=datetime(2016, 12, 31, 16, 0, 0, tzinfo=UTC),  # 2017-01-01 00:00 in Beijing
        reported_at=datetime(2016, 12, 31, 16, 0, 5, tzinfo=UTC),
        parts=1,
    )
    assert parsed.reported_at.utcoffset() == timedelta(0)


def test_a_failed_receipt_keeps_the_carriers_error():
    [parsed] = parse_delivery_receipts(
        body_of([receipt(success=False, err_code="MK:0000", err_msg="空号", sms_size="2")])
    )
    assert (parsed.delivered, parsed.error_code, parsed.error_message, parsed.parts) == (
        False,
        "MK:0000",
        "空号",
        2,
    )


def test_a_batch_of_receipts_is_read_in_order_with_mobiles_normalised():
    # given
    batch = [
        receipt(phone_number="+86 138 0013 8000", biz_id="1^0", out_id="a"),
        receipt(phone_number="8613900139000", biz_id="2^0", out_id="b", success="false"),
        receipt(phone_number="13700137000", biz_id="3^0", out_id=None),
    ]

    # when
    parsed = parse_delivery_receipts(body_of(batch))

    # then
    assert [(r.mobile, r.provider_message_id, r.reference, r.delivered) for r in parsed] == [
        ("13800138000", "1^0", "a", True),
        ("13900139000", "2^0", "b", False),
        ("13700137000", "3^0", "", True),
    ]


def test_an_empty_batch_is_an_empty_list():
    assert parse_delivery_receipts(b"[]") == []
    assert parse_inbound_messages(b"[]") == []


@pytest.mark.parametrize(
    "body", [b"{}", b'{"phone_number": "13800138000"}', b'"text"', b"42", b"null", b"true"]
)
def test_json_that_is_not_an_array_is_refused(body):
    for parse in (parse_delivery_receipts, parse_inbound_messages):
        with pytest.raises(CallbackRejected) as rejected:
            parse(body)
        assert rejected.value.reason == "not_a_list"


@pytest.mark.parametrize(
    "item",
    [
        "not an object",
        receipt(biz_id=None),
        receipt(biz_id=""),
        receipt(phone_number=None),
        receipt(report_time="01/01/2017"),
        receipt(report_time=None),
        receipt(success="yes"),
        receipt(success=None),
        receipt(sms_size="two"),
        receipt(out_id={"nested": True}),
    ],
)
def test_a_receipt_batch_with_a_malformed_item_is_refused_whole(item):
    # given a good item first, so a partial read would have something to return
    body = body_of([receipt(), item])

    # when / then
    with pytest.raises(CallbackRejected) as rejected:
        parse_delivery_receipts(body)
    assert rejected.value.reason == "malformed_item"
    assert rejected.value.index == 1


def test_parsing_refuses_malformed_json_too():
    with pytest.raises(CallbackRejected) as rejected:
        parse_delivery_receipts(b"[{")
    assert rejected.value.reason == "malformed_json"


# --- merchants' replies -------------------------------------------------------------------------


def test_a_reply_is_read_with_its_sequence_id_as_the_message_id_and_its_time_in_utc():
    # when
    [parsed] = parse_inbound_messages(body_of([reply(content="机器坏了，请尽快上门")]))

    # then
    assert parsed == InboundSms(
        provider="aliyun",
        provider_message_id="1234567890",
        mobile="13800138000",
        text="机器坏了，请尽快上门",
        received_at=datetime(2025, 3, 4, 1, 0, 0, tzinfo=UTC),  # 09:00 in Beijing
        is_unsubscribe=False,
        sign_name="杭州收单服务",
        dest_code="1234",
    )


@pytest.mark.parametrize(
    ("content", "unsubscribes"),
    [
        ("TD", True),
        ("td", True),
        ("退订", True),
        ("退订 谢谢", True),
        ("ＴＤ", True),
        ("N", False),
        ("好的", False),
    ],
)
def test_a_td_reply_is_flagged_as_an_opt_out(content, unsubscribes):
    [parsed] = parse_inbound_messages(body_of([reply(content=content)]))
    assert parsed.is_unsubscribe is unsubscribes


def test_a_batch_of_replies_keeps_each_senders_mobile_normalised():
    parsed = parse_inbound_messages(
        body_of(
            [
                reply(phone_number="+8613800138000", sequence_id=1),
                reply(phone_number="139 0013 9000", sequence_id=2),
            ]
        )
    )
    assert [(m.mobile, m.provider_message_id) for m in parsed] == [("13800138000", "1"), ("13900139000", "2")]


@pytest.mark.parametrize(
    "item",
    [
        reply(sequence_id=None),
        reply(sequence_id=True),
        reply(phone_number=""),
        reply(send_time="2025-03-04T09:00:00+08:00"),
        reply(content=["TD"]),
        42,
    ],
)
def test_a_reply_batch_with_a_malformed_item_is_refused_whole(item):
    with pytest.raises(CallbackRejected) as rejected:
        parse_inbound_messages(body_of([reply(), item]))
    assert rejected.value.reason == "malformed_item"
    assert rejected.value.index == 1


def test_an_empty_reply_text_is_kept_and_is_not_an_opt_out():
    [parsed] = parse_inbound_messages(body_of([reply(content=None)]))
    assert (parsed.text, parsed.is_unsubscribe) == ("", False)
