"""Aliyun SMS pushes to posdesk's webhooks ("HTTP 批量推送"): delivery receipts (SmsReport) and
merchants' replies (SmsUp, where "TD" opts out — SPEC C4). Both are a JSON array of objects,
UTF-8, and may carry several reports at once. Times in them are Beijing time without a zone.

Aliyun pushes a batch again 1, 5 and 10 minutes after a failed push (HTTP status other than 200
or a timeout) and gives up after three tries, so the webhook answers `{"code": 0, "msg": "..."}`
with 200 only after the batch is stored, and downstream de-duplicates by provider_message_id
(receipts: biz_id + mobile; replies: sequence_id).

Authenticating the push
-----------------------
Aliyun does not sign these pushes, so posdesk protects its webhook itself:

* Preferred: a reverse proxy or API gateway in front of posdesk (the only way in from the
  Internet) receives Aliyun's push on the URL configured in the SMS console, and forwards it with
  two headers it computes with a secret shared with posdesk:
      X-Posdesk-Timestamp: <Unix seconds when the proxy forwarded it>
      X-Posdesk-Signature: hex(HMAC-SHA256(secret, "<timestamp>." + raw body))
  (`callback_signature` below; e.g. an OpenResty `access_by_lua` block, an njs handler, or a
  function on the cloud's API gateway). `verify_callback` then refuses a missing or forged
  signature, a timestamp more than `max_skew` seconds away (a replayed capture) and a body over
  1 MiB or not JSON. Within the skew window a replay is possible, which the de-duplication above
  absorbs.
* Fallback, when no such proxy exists: a long random token in the callback URL path configured
  in the Aliyun console (https://…/sms/aliyun/<token>/report), compared with
  `verify_url_token`. It keeps strangers out but is a bearer secret: it appears in access logs,
  so rotate it by configuring a new URL."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from posdesk.channels.sms.providers import is_unsubscribe
from posdesk.core.identifiers import normalise_mobile

MAX_CALLBACK_BYTES = 1024 * 1024  # 1 MiB; Aliyun's batches are far smaller
DEFAULT_MAX_SKEW_SECONDS = 300
PROVIDER = "aliyun"
ALIYUN_TIME_ZONE = ZoneInfo("Asia/Shanghai")
ALIYUN_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# The answer Aliyun expects once a batch is stored; it only checks that `code` is a number.
ACKNOWLEDGEMENT = {"code": 0, "msg": "接收成功"}


class CallbackRejected(Exception):
    """A push posdesk refuses. `reason` is a stable code: body_too_large, missing_signature,
    missing_timestamp, bad_timestamp, stale_timestamp, bad_signature, bad_token, malformed_json,
    not_a_list, malformed_item. `index` names the array item concerned, when there is one."""

    def __init__(self, reason: str, message: str = "", *, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        super().__init__(message or reason)


@dataclass(frozen=True)
class DeliveryReceipt:
    provider: str
    provider_message_id: str  # Aliyun's BizId, as SendSms returned it
    reference: str  # our outbox reference (Aliyun's out_id); "" when none was sent
    mobile: str
    delivered: bool
    error_code: str  # Aliyun's err_code when not delivered (e.g. "MK:0000"); "" when delivered
    error_message: str
    sent_at: datetime | None  # aware, UTC
    reported_at: datetime  # aware, UTC
    parts: int  # how many SMS the text was billed as (sms_size)


@dataclass(frozen=True)
class InboundSms:
    provider: str
    provider_message_id: str  # Aliyun's sequence_id, unique per reply
    mobile: str
    text: str
    received_at: datetime  # aware, UTC
    is_unsubscribe: bool
    sign_name: str  # the signature of the text being answered
    dest_code: str  # the extension code the reply was sent to


def callback_signature(secret: str | bytes, timestamp: str | int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_callback(
    secret: str | bytes,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime,
    max_skew: int = DEFAULT_MAX_SKEW_SECONDS,
) -> None:
    """Raise CallbackRejected unless `body` was signed with `secret` at `timestamp` (Unix seconds,
    within `max_skew` of `now`, an aware datetime) and is well-formed JSON of at most 1 MiB."""
    _refuse_if_too_large(body)  # before hashing: a huge body costs nothing to refuse
    if not signature:
        raise CallbackRejected("missing_signature", "No signature came with the push.")
    if not timestamp:
        raise CallbackRejected("missing_timestamp", "No timestamp came with the push.")
    timestamp = timestamp.strip()
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise CallbackRejected("bad_timestamp", "The timestamp is not Unix seconds.")
    if abs(now.timestamp() - int(timestamp)) > max_skew:
        raise CallbackRejected("stale_timestamp", "The timestamp is too far from now; refusing a replay.")
    expected = callback_signature(secret, timestamp, body)
    # Bytes, not str: compare_digest refuses non-ASCII text, and a forged header may contain some.
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise CallbackRejected("bad_signature", "The signature does not match the body.")
    _load_json(body)


def verify_url_token(expected: str, presented: str | None) -> None:
    """The fallback check: the secret token in the callback URL, compared in constant time."""
    if not expected or not presented or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise CallbackRejected("bad_token", "The callback URL token does not match.")


def parse_delivery_receipts(body: bytes) -> list[DeliveryReceipt]:
    """Aliyun SmsReport: `[{"phone_number", "send_time", "report_time", "success", "err_code",
    "err_msg", "sms_size", "biz_id", "out_id"}, …]`. Any malformed item refuses the whole batch:
    a half-stored batch would be acknowledged and its other half lost."""
    receipts = []
    for index, item in _items(body):
        delivered = _boolean(item.get("success"), index)
        sent = _text(item, "send_time", index)
        receipts.append(
            DeliveryReceipt(
                provider=PROVIDER,
                provider_message_id=_text(item, "biz_id", index, required=True),
                reference=_text(item, "out_id", index),
                mobile=normalise_mobile(_text(item, "phone_number", index, required=True)),
                delivered=delivered,
                error_code="" if delivered else _text(item, "err_code", index),
                error_message="" if delivered else _text(item, "err_msg", index),
                sent_at=_beijing_time(sent, index) if sent else None,
                reported_at=_beijing_time(_text(item, "report_time", index, required=True), index),
                parts=_parts(item.get("sms_size"), index),
            )
        )
    return receipts


def parse_inbound_messages(body: bytes) -> list[InboundSms]:
    """Aliyun SmsUp: `[{"phone_number", "send_time", "content", "sign_name", "dest_code",
    "sequence_id"}, …]`."""
    messages = []
    for index, item in _items(body):
        text = _text(item, "content", index)
        messages.append(
            InboundSms(
                provider=PROVIDER,
                provider_message_id=_text(item, "sequence_id", index, required=True),
                mobile=normalise_mobile(_text(item, "phone_number", index, required=True)),
                text=text,
                received_at=_beijing_time(_text(item, "send_time", index, required=True), index),
                is_unsubscribe=is_unsubscribe(text),
                sign_name=_text(item, "sign_name", index),
                dest_code=_text(item, "dest_code", index),
            )
        )
    return messages


def _refuse_if_too_large(body: bytes) -> None:
    if len(body) > MAX_CALLBACK_BYTES:
        raise CallbackRejected(
            "body_too_large", f"The body has {len(body)} bytes, over {MAX_CALLBACK_BYTES}."
        )


def _load_json(body: bytes) -> Any:
    _refuse_if_too_large(body)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
        raise CallbackRejected("malformed_json", f"The body is not JSON: {exc}") from exc


def _items(body: bytes) -> list[tuple[int, dict[str, Any]]]:
    payload = _load_json(body)
    if not isinstance(payload, list):
        raise CallbackRejected("not_a_list", "Aliyun pushes a JSON array.")
    for index, item in enumerate(payload):
        if not isinstance(item, dict):
            raise CallbackRejected("malformed_item", "Each item must be a JSON object.", index=index)
    return list(enumerate(payload))


def _text(item: dict[str, Any], name: str, index: int, *, required: bool = False) -> str:
    value = item.get(name)
    if value is None:
        value = ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        # Aliyun sends strings (sequence_id as a number); an object or true here is not Aliyun.
        raise CallbackRejected("malformed_item", f"Item {index} has a bad {name}.", index=index)
    text = str(value).replace("\x00", "").strip()  # PostgreSQL cannot store NUL
    if required and not text:
        raise CallbackRejected("malformed_item", f"Item {index} has no {name}.", index=index)
    return text


def _boolean(value: Any, index: int) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise CallbackRejected("malformed_item", f"Item {index} has no true/false success.", index=index)


def _parts(value: Any, index: int) -> int:
    if value in (None, ""):
        return 1
    try:
        parts = int(str(value))
    except ValueError:
        raise CallbackRejected("malformed_item", f"Item {index} has a bad sms_size.", index=index) from None
    return max(parts, 1)


def _beijing_time(value: Any, index: int) -> datetime:
    try:
        local = datetime.strptime(str(value).strip(), ALIYUN_TIME_FORMAT)
    except ValueError:
        raise CallbackRejected(
            "malformed_item", f"Item {index} has a bad time: {value!r}.", index=index
        ) from None
    return local.replace(tzinfo=ALIYUN_TIME_ZONE).astimezone(UTC)
