"""Aliyun Short Message Service (dysmsapi, API version 2017-05-25) through its documented HTTP RPC
API, with no SDK: one signed GET of `Action=SendSms`.

Signature (Aliyun "RPC 签名机制", signature version 1.0, HMAC-SHA1):
  1. every parameter except Signature, sorted by name, each name and value percent-encoded in
     UTF-8 by RFC 3986 (only A-Z a-z 0-9 - _ . ~ stay literal; space is %20, never +) and joined
     as `name=value` with `&` — the canonicalised query;
  2. StringToSign = "GET" + "&" + percentEncode("/") + "&" + percentEncode(canonicalised query);
  3. Signature = Base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign)).
The tests check this against Aliyun's published worked examples (AccessKeySecret "testsecret",
signature CT9X0VtwR86fNWSnsc6v8YGOjuE=; the SendSms example with "testSecret",
zJDF+Lrzhj/ThnlvIToysFRq6t4=).

posdesk sends every service text through one generic template whose single variable `content`
holds the whole text (TemplateParam `{"content": "…"}`), with OutId = the outbox message's
idempotency key (the reference when there is none), so delivery receipts (see callbacks.py) find
the message again. OutId is Aliyun's "外部流水扩展字段", a free string under 256 characters that
it only echoes back in receipts.

SendSms is not idempotent, and Aliyun says so (SendSms API reference, 注意事项: 国内短信、国际短信
及多媒体短信目前均不支持幂等的能力 — "does not support idempotence … implement your own"): it does
NOT de-duplicate on OutId or anything else. The same key on every attempt lets a receipt and an
operator tie the attempts together, but a worker killed after Aliyun accepted a message and before
the outbox marked it sent can still make the merchant get it twice; the exactly-once guarantee of
the outbox holds for providers that honour the key (`idempotent_sends`), not for this one. A
timeout is still reported as retryable, so the outbox should wait for the delivery receipt of that
OutId before it resends, or accept a rare duplicate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from posdesk.channels.sms.providers import SendResult, SmsError
from posdesk.core.identifiers import is_mainland_mobile, normalise_mobile
from posdesk.core.masking import mask_mobile

API_VERSION = "2017-05-25"
DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"
REGION_ID = "cn-hangzhou"  # dysmsapi is served from one region; the documented example sends it

# Aliyun's advice is a timeout of at least 1 s for domestic SMS; a few seconds keeps a worker
# from hanging on a dead connection without cutting off a slow but successful answer.
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=3.0)

# Codes after which the same request may succeed later. Everything else (bad number, template,
# signature name, credentials, balance, content or daily/monthly quota set by the account owner)
# needs a person, so the outbox dead-letters it instead of retrying.
RETRYABLE_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",  # per-number frequency control (minute / hour)
        "isp.SYSTEM_ERROR",
        "isp.GATEWAY_ERROR",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableTemporary",
        "SignatureNonceUsed",  # only our nonce clashed; a new request gets a new nonce
    }
)
RETRYABLE_PREFIXES = ("Throttling",)  # Throttling, Throttling.User, Throttling.Api …


def percent_encode(value: str) -> str:
    """RFC 3986 as Aliyun specifies it: what Java's URLEncoder gives with + → %20, * → %2A and
    %7E → ~, i.e. everything but A-Z a-z 0-9 - _ . ~ encoded from UTF-8 bytes."""
    return quote(value, safe="-_.~")


def canonicalized_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{percent_encode(name)}={percent_encode(params[name])}"
        for name in sorted(params)
        if name != "Signature"
    )


def string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonicalized_query(params))}"


def rpc_signature(params: Mapping[str, str], access_key_secret: str, method: str = "GET") -> str:
    digest = hmac.new(
        f"{access_key_secret}&".encode(),
        string_to_sign(params, method).encode(),
        hashlib.sha1,
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def is_retryable_code(code: str) -> bool:
    return code in RETRYABLE_CODES or code.startswith(RETRYABLE_PREFIXES)


def _now_utc() -> datetime:
    return datetime.now(UTC)


def _random_nonce() -> str:
    return uuid.uuid4().hex


class AliyunSmsProvider:
    name = "aliyun"
    idempotent_sends = False  # SendSms sends every request it accepts (see the module docstring)

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_code: str,
        endpoint: str = DEFAULT_ENDPOINT,
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] = _now_utc,
        nonce: Callable[[], str] = _random_nonce,
    ) -> None:
        self.access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.template_code = template_code
        self.endpoint = endpoint.rstrip("/")
        self.http = http if http is not None else httpx.Client(timeout=DEFAULT_TIMEOUT)
        self.clock = clock
        self.nonce = nonce

    def __repr__(self) -> str:  # never show the secret in tracebacks or logs
        return f"AliyunSmsProvider(access_key_id={self.access_key_id!r}, endpoint={self.endpoint!r})"

    def signed_params(
        self, *, mobile: str, text: str, reference: str, idempotency_key: str = ""
    ) -> dict[str, str]:
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": idempotency_key or reference,
            "PhoneNumbers": mobile,
            "RegionId": REGION_ID,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self.nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({"content": text}, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        params["Signature"] = rpc_signature(params, self._access_key_secret)
        return params

    def send(self, *, mobile: str, text: str, reference: str, idempotency_key: str = "") -> SendResult:
        number = normalise_mobile(mobile)
        if not is_mainland_mobile(number):
            # Refused here rather than by a billable round trip; same code as Aliyun's answer.
            raise self._error(
                f"Not a mainland mobile number: {mask_mobile(mobile)}",
                code="isv.MOBILE_NUMBER_ILLEGAL",
                retryable=False,
            )
        if not text or not text.strip():
            raise self._error("The text is empty.", code="empty_text", retryable=False)
        if not reference:
            raise self._error(
                "A reference (the outbox id) is required.", code="missing_reference", retryable=False
            )

        params = self.signed_params(
            mobile=number, text=text, reference=reference, idempotency_key=idempotency_key
        )
        # The query is built here, already encoded the documented way, so that the bytes on the
        # wire are exactly the ones that were signed.
        url = (
            f"{self.endpoint}/?Signature={percent_encode(params['Signature'])}&{canonicalized_query(params)}"
        )
        try:
            response = self.http.get(url)
        except httpx.TimeoutException as exc:
            raise self._error(
                f"Aliyun SMS did not answer in time: {exc}", code="timeout", retryable=True
            ) from exc
        except httpx.TransportError as exc:
            raise self._error(f"Aliyun SMS unreachable: {exc}", code="network_error", retryable=True) from exc
        return self._read_answer(response)

    def _read_answer(self, response: httpx.Response) -> SendResult:
        answer = _json_object(response)
        code = str(answer.get("Code") or "") if answer is not None else ""
        message = str(answer.get("Message") or "") if answer is not None else ""

        if response.status_code == 200 and code == "OK":
            biz_id = str(answer.get("BizId") or "") if answer is not None else ""
            if not biz_id:
                raise self._error(
                    "Aliyun SMS said OK without a BizId.", code="malformed_response", retryable=True
                )
            return SendResult(provider=self.name, provider_message_id=biz_id, accepted=True)

        if response.status_code >= 500:
            raise self._error(
                f"Aliyun SMS server error {response.status_code}: {code} {message}".strip(),
                code=code or f"http_{response.status_code}",
                retryable=True,
            )
        if not code:
            # Not an Aliyun answer (a proxy's page, an empty body): nothing was accepted.
            raise self._error(
                f"Unreadable answer from Aliyun SMS (HTTP {response.status_code}).",
                code="malformed_response" if response.status_code == 200 else f"http_{response.status_code}",
                retryable=response.status_code in (200, 408, 429),
            )
        raise self._error(
            f"Aliyun SMS refused the message: {code} {message}".strip(),
            code=code,
            retryable=is_retryable_code(code) or response.status_code == 429,
        )

    def _error(self, message: str, *, code: str, retryable: bool) -> SmsError:
        return SmsError(message, code=code, retryable=retryable, provider=self.name)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        answer = response.json()
    except ValueError:  # not JSON, or not UTF-8
        return None
    return answer if isinstance(answer, dict) else None
