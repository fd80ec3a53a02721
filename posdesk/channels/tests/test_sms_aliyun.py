"""The Aliyun SMS adapter: the documented RPC signature against Aliyun's published worked examples,
real requests to a loopback fake of dysmsapi that checks every signature, and the mapping of
Aliyun's answers to accepted / retryable / permanent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from posdesk.channels.sms.aliyun import (
    AliyunSmsProvider,
    canonicalized_query,
    percent_encode,
    rpc_signature,
    string_to_sign,
)
from posdesk.channels.sms.providers import SmsError

FROZEN_NOW = datetime(2025, 3, 4, 1, 2, 3, tzinfo=UTC)
ACCESS_KEY_ID = "LTAI-test-id"
ACCESS_KEY_SECRET = "test-secret/with+odd=chars"

# Aliyun "RPC 签名机制" worked example (ECS DescribeRegions, AccessKeySecret "testsecret"), as the
# older page printed it (parameter "TimeStamp") and as the current page prints it ("Timestamp").
DESCRIBE_REGIONS = {
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "Format": "XML",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "SignatureVersion": "1.0",
    "Version": "2014-05-26",
}
# Aliyun SMS "请求签名" worked example (SendSms, AccessKeySecret "testSecret").
SEND_SMS_EXAMPLE = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


# --- the signature ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a%20b"),  # a space is %20, never +
        ("a*b", "a%2Ab"),
        ("a~b", "a~b"),
        ("a+b", "a%2Bb"),
        ("-_.", "-_."),
        ("2016-02-23T12:46:24Z", "2016-02-23T12%3A46%3A24Z"),
        ('{"content":"x"}', "%7B%22content%22%3A%22x%22%7D"),
        ("退订", "%E9%80%80%E8%AE%A2"),
        ("/", "%2F"),
    ],
)
def test_percent_encoding_follows_aliyuns_special_cases(raw, encoded):
    assert percent_encode(raw) == encoded


@given(st.text())
def test_percent_encoding_leaves_only_unreserved_characters_and_decodes_back(text):
    encoded = percent_encode(text)
    assert unquote(encoded) == text
    assert all(c.isascii() and (c.isalnum() or c in "-_.~%") for c in encoded)


def test_the_published_describe_regions_example_signs_to_the_published_value():
    # given the older page's parameters
    params = {**DESCRIBE_REGIONS, "TimeStamp": "2016-02-23T12:46:24Z"}

    # then
    assert string_to_sign(params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
        "%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert rpc_signature(params, "testsecret") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


def test_the_current_describe_regions_example_signs_to_the_published_value():
    params = {**DESCRIBE_REGIONS, "Timestamp": "2016-02-23T12:46:24Z"}
    assert rpc_signature(params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_the_published_send_sms_example_with_a_chinese_sign_name_signs_to_the_published_value():
    assert rpc_signature(SEND_SMS_EXAMPLE, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_a_signature_already_present_is_left_out_of_what_is_signed():
    with_signature = {**SEND_SMS_EXAMPLE, "Signature": "anything"}
    assert canonicalized_query(with_signature) == canonicalized_query(SEND_SMS_EXAMPLE)
    assert rpc_signature(with_signature, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_the_provider_signs_its_own_request_like_the_published_example():
    # given a provider set up like the SMS example
    provider = AliyunSmsProvider(
        "testId",
        "testSecret",
        "阿里云短信测试专用",
        "SMS_71390007",
        clock=lambda: datetime(2017, 7, 12, 2, 42, 19, tzinfo=UTC),
        nonce=lambda: "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    )

    # when
    params = provider.signed_params(mobile="15300000001", text="test", reference="123")

    # then the only differences from the example are posdesk's choices (JSON answers, one
    # generic template variable), and the signature is that of exactly these parameters
    expected = {**SEND_SMS_EXAMPLE, "Format": "JSON", "TemplateParam": '{"content":"test"}'}
    assert {k: v for k, v in params.items() if k != "Signature"} == expected
    assert params["Signature"] == rpc_signature(expected, "testSecret")


# --- a loopback fake of dysmsapi ----------------------------------------------------------------


def independent_percent_encode(text: str) -> str:
    """The documented rule written out byte by byte, so the fake does not reuse the code under test."""
    unreserved = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    return "".join(chr(b) if b in unreserved else f"%{b:02X}" for b in text.encode("utf-8"))


def independent_signature(params: dict[str, str], secret: str) -> str:
    canonical = "&".join(
        f"{independent_percent_encode(k)}={independent_percent_encode(v)}"
        for k, v in sorted(params.items())
        if k != "Signature"
    )
    to_sign = "GET&%2F&" + independent_percent_encode(canonical)
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class FakeDysmsapi:
    """Answers SendSms as Aliyun does: checks the common parameters, the timestamp, the nonce and
    the signature of every request, and records what it accepted."""

    REQUIRED = (
        "AccessKeyId",
        "Action",
        "Format",
        "PhoneNumbers",
        "SignName",
        "Signature",
        "SignatureMethod",
        "SignatureNonce",
        "SignatureVersion",
        "TemplateCode",
        "Timestamp",
        "Version",
    )

    def __init__(self, secrets: dict[str, str], now: datetime) -> None:
        self.secrets = secrets
        self.now = now
        self.used_nonces: set[str] = set()
        self.accepted: list[dict[str, str]] = []
        self.raw_queries: list[str] = []
        self._biz_ids = itertools.count(900619746936498)

    def answer(self, raw_query: str) -> tuple[int, dict[str, str]]:
        self.raw_queries.append(raw_query)
        params: dict[str, str] = {}
        for pair in raw_query.split("&"):
            name, _, value = pair.partition("=")
            params[unquote(name)] = unquote(value)  # unquote, not unquote_plus: + is not a space
        request_id = str(uuid.uuid4()).upper()

        def refuse(status: int, code: str, message: str) -> tuple[int, dict[str, str]]:
            return status, {
                "RequestId": request_id,
                "HostId": "dysmsapi.aliyuncs.com",
                "Code": code,
                "Message": message,
            }

        missing = [name for name in self.REQUIRED if not params.get(name)]
        if missing:
            return refuse(400, "MissingParameter", f"{missing[0]} is mandatory for this action.")
        if params["Action"] != "SendSms" or params["Version"] != "2017-05-25":
            return refuse(404, "InvalidVersion", "Specified parameter Version is not valid.")
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return refuse(400, "InvalidParameter", "The signature method or version is not supported.")
        secret = self.secrets.get(params["AccessKeyId"])
        if secret is None:
            return refuse(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        timestamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs(timestamp - self.now) > timedelta(minutes=15):
            return refuse(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        if not hmac.compare_digest(params["Signature"], independent_signature(params, secret)):
            return refuse(
                400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
            )
        if params["SignatureNonce"] in self.used_nonces:
            return refuse(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self.used_nonces.add(params["SignatureNonce"])
        template_param = json.loads(params.get("TemplateParam") or "{}")
        if set(template_param) != {"content"}:
            return 200, {
                "RequestId": request_id,
                "Code": "isv.TEMPLATE_MISSING_PARAMETERS",
                "Message": "模板缺少变量",
            }
        self.accepted.append(params)
        return 200, {
            "RequestId": request_id,
            "Code": "OK",
            "Message": "OK",
            "BizId": f"{next(self._biz_ids)}^0",
        }


@pytest.fixture
def fake_dysmsapi() -> Iterator[tuple[FakeDysmsapi, str]]:
    fake = FakeDysmsapi({ACCESS_KEY_ID: ACCESS_KEY_SECRET}, FROZEN_NOW)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, answer = fake.answer(urlsplit(self.path).query)
            body = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # a short poll interval lets shutdown() return at once instead of after half a second
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def loopback_http() -> Iterator[httpx.Client]:
    # trust_env=False: a proxy set in the environment must not see loopback test traffic
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        yield client


def make_provider(endpoint: str, http: httpx.Client, **overrides) -> AliyunSmsProvider:
    options = {
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": ACCESS_KEY_SECRET,
        "sign_name": "杭州收单服务",
        "template_code": "SMS_460000001",
        "endpoint": endpoint,
        "http": http,
        "clock": lambda: FROZEN_NOW,
    }
    options.update(overrides)
    return AliyunSmsProvider(**options)


def test_a_service_text_is_accepted_by_the_fake_and_arrives_exactly_as_written(fake_dysmsapi, loopback_http):
    # given a text with everything the encoding must survive
    fake, endpoint = fake_dysmsapi
    provider = make_provider(endpoint, loopback_http)
    text = (
        '您的工单 T-1001 已受理 (优先级*高*), 详情: https://posdesk.example/t?id=1&x=a+b ~ "OK" 😀 回TD退订'
    )

    # when
    result = provider.send(mobile="+86 138-0013-8000", text=text, reference="outbox-42")

    # then
    assert result.accepted is True
    assert result.provider == "aliyun"
    assert result.provider_message_id == "900619746936498^0"
    [seen] = fake.accepted
    assert json.loads(seen["TemplateParam"]) == {"content": text}
    assert seen["PhoneNumbers"] == "13800138000"
    assert seen["SignName"] == "杭州收单服务"
    assert seen["TemplateCode"] == "SMS_460000001"
    assert seen["OutId"] == "outbox-42"
    assert seen["Format"] == "JSON"
    assert seen["Timestamp"] == "2025-03-04T01:02:03Z"
    # on the wire, a space is %20 and a plus is %2B, as the signature rules require
    assert "+" not in fake.raw_queries[0]


def test_the_timestamp_is_sent_in_utc_whatever_zone_the_clock_reports(fake_dysmsapi, loopback_http):
    # given a clock that reports Beijing time (09:02:03 +08:00 is 01:02:03 UTC)
    fake, endpoint = fake_dysmsapi
    beijing = FROZEN_NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    provider = make_provider(endpoint, loopback_http, clock=lambda: beijing)

    # when
    provider.send(mobile="13800138000", text="x", reference="r-1")

    # then
    assert fake.accepted[0]["Timestamp"] == "2025-03-04T01:02:03Z"


def test_the_idempotency_key_is_sent_as_the_out_id_and_aliyun_does_not_deduplicate_on_it(
    fake_dysmsapi, loopback_http
):
    # given a message sent with its key, and sent again with the same key (a retry)
    fake, endpoint = fake_dysmsapi
    provider = make_provider(endpoint, loopback_http)
    provider.send(mobile="13800138000", text="x", reference="outbox-42", idempotency_key="posdesk-k42")
    provider.send(mobile="13800138000", text="x", reference="outbox-42", idempotency_key="posdesk-k42")

    # then both requests carry the key as OutId, and both are accepted as two messages: SendSms is
    # not idempotent (as Aliyun documents), which the fake models
    assert [seen["OutId"] for seen in fake.accepted] == ["posdesk-k42", "posdesk-k42"]
    assert provider.idempotent_sends is False


def test_every_request_carries_a_fresh_nonce(fake_dysmsapi, loopback_http):
    # given the default nonce source
    fake, endpoint = fake_dysmsapi
    provider = make_provider(endpoint, loopback_http)

    # when
    provider.send(mobile="13800138000", text="first", reference="r-1")
    provider.send(mobile="13800138000", text="second", reference="r-2")

    # then the fake, which refuses a reused nonce, accepted both
    assert len(fake.accepted) == 2
    assert fake.accepted[0]["SignatureNonce"] != fake.accepted[1]["SignatureNonce"]


def test_a_reused_nonce_is_refused_by_aliyun_and_may_be_retried(fake_dysmsapi, loopback_http):
    # given a nonce source stuck on one value
    fake, endpoint = fake_dysmsapi
    provider = make_provider(endpoint, loopback_http, nonce=lambda: "always-the-same")
    provider.send(mobile="13800138000", text="first", reference="r-1")

    # when
    with pytest.raises(SmsError) as refused:
        provider.send(mobile="13800138000", text="second", reference="r-2")

    # then
    assert refused.value.code == "SignatureNonceUsed"
    assert refused.value.retryable is True


def test_a_wrong_secret_is_refused_and_not_retried(fake_dysmsapi, loopback_http):
    # given
    fake, endpoint = fake_dysmsapi
    provider = make_provider(endpoint, loopback_http, access_key_secret="not-the-secret")

    # when
    with pytest.raises(SmsError) as refused:
        provider.send(mobile="13800138000", text="x", reference="r-1")

    # then
    assert refused.value.code == "SignatureDoesNotMatch"
    assert refused.value.retryable is False
    assert fake.accepted == []


def test_an_unknown_access_key_is_refused_and_not_retried(fake_dysmsapi, loopback_http):
    fake, endpoint = fake_dysmsapi
    provider = make_provider(endpoint, loopback_http, access_key_id="LTAI-unknown")
    with pytest.raises(SmsError) as refused:
        provider.send(mobile="13800138000", text="x", reference="r-1")
    assert refused.value.code == "InvalidAccessKeyId.NotFound"
    assert refused.value.retryable is False


def test_a_clock_far_off_is_refused_as_an_expired_timestamp(fake_dysmsapi, loopback_http):
    fake, endpoint = fake_dysmsapi
    provider = make_provider(endpoint, loopback_http, clock=lambda: FROZEN_NOW - timedelta(hours=1))
    with pytest.raises(SmsError) as refused:
        provider.send(mobile="13800138000", text="x", reference="r-1")
    assert refused.value.code == "InvalidTimeStamp.Expired"


def test_a_closed_port_is_a_retryable_network_error(loopback_http):
    # given a loopback port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = make_provider(f"http://127.0.0.1:{port}", loopback_http)

    # when
    with pytest.raises(SmsError) as refused:
        provider.send(mobile="13800138000", text="x", reference="r-1")

    # then
    assert refused.value.code == "network_error"
    assert refused.value.retryable is True


def test_the_secret_never_appears_in_the_providers_repr():
    provider = AliyunSmsProvider("LTAI-id", "very-secret-value", "签名", "SMS_1")
    assert "very-secret-value" not in repr(provider)


# --- answers mapped to accepted / retryable / permanent (httpx.MockTransport) --------------------


def provider_answering(handler) -> AliyunSmsProvider:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return make_provider("https://dysmsapi.aliyuncs.com", client)


def aliyun_answer(status: int, code: str, message: str = "") -> httpx.Response:
    return httpx.Response(
        status, json={"RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990", "Code": code, "Message": message}
    )


@pytest.mark.parametrize(
    ("answer", "code", "retryable"),
    [
        (
            aliyun_answer(200, "isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5"),
            "isv.BUSINESS_LIMIT_CONTROL",
            True,
        ),
        (aliyun_answer(200, "isp.SYSTEM_ERROR", "系统错误"), "isp.SYSTEM_ERROR", True),
        (
            aliyun_answer(400, "Throttling.User", "Request was denied due to user flow control."),
            "Throttling.User",
            True,
        ),
        (aliyun_answer(500, "InternalError", "The request processing has failed."), "InternalError", True),
        (httpx.Response(503, text="<html>Service Unavailable</html>"), "http_503", True),
        (httpx.Response(502, text=""), "http_502", True),
        (httpx.Response(429, text="Too Many Requests"), "http_429", True),
        (httpx.Response(200, text="<html>captive portal</html>"), "malformed_response", True),
        (httpx.Response(200, json={"Code": "OK", "Message": "OK"}), "malformed_response", True),
        (aliyun_answer(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"), "isv.MOBILE_NUMBER_ILLEGAL", False),
        (aliyun_answer(200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法"), "isv.SMS_TEMPLATE_ILLEGAL", False),
        (aliyun_answer(200, "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法"), "isv.SMS_SIGNATURE_ILLEGAL", False),
        (aliyun_answer(200, "isv.SMS_SIGN_ILLEGAL", "签名禁止使用"), "isv.SMS_SIGN_ILLEGAL", False),
        (
            aliyun_answer(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量"),
            "isv.TEMPLATE_MISSING_PARAMETERS",
            False,
        ),
        (aliyun_answer(200, "isv.PARAM_LENGTH_LIMIT", "参数超出长度限制"), "isv.PARAM_LENGTH_LIMIT", False),
        (aliyun_answer(200, "isv.OUT_OF_SERVICE", "业务停机"), "isv.OUT_OF_SERVICE", False),
        (aliyun_answer(200, "isv.DAY_LIMIT_CONTROL", "触发日发送限额"), "isv.DAY_LIMIT_CONTROL", False),
        (
            aliyun_answer(400, "SignatureDoesNotMatch", "Specified signature is not matched."),
            "SignatureDoesNotMatch",
            False,
        ),
        (aliyun_answer(403, "isp.RAM_PERMISSION_DENY", "RAM权限DENY"), "isp.RAM_PERMISSION_DENY", False),
        (httpx.Response(403, text="Forbidden"), "http_403", False),
    ],
)
def test_aliyun_answers_map_to_retryable_or_permanent_errors(answer, code, retryable):
    # given
    provider = provider_answering(lambda request: answer)

    # when
    with pytest.raises(SmsError) as refused:
        provider.send(mobile="13800138000", text="x", reference="r-1")

    # then
    assert refused.value.code == code
    assert refused.value.retryable is retryable
    assert refused.value.provider == "aliyun"


def test_an_ok_answer_returns_the_biz_id():
    provider = provider_answering(
        lambda request: httpx.Response(
            200, json={"Code": "OK", "Message": "OK", "BizId": "9006197469364984^0", "RequestId": "X"}
        )
    )
    result = provider.send(mobile="13800138000", text="x", reference="r-1")
    assert (result.accepted, result.provider_message_id) == (True, "9006197469364984^0")


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (httpx.ReadTimeout("read timed out"), "timeout"),
        (httpx.ConnectTimeout("connect timed out"), "timeout"),
        (httpx.ConnectError("connection refused"), "network_error"),
        (httpx.RemoteProtocolError("server disconnected"), "network_error"),
    ],
)
def test_timeouts_and_network_failures_are_retryable(failure, code):
    # given
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    provider = provider_answering(handler)

    # when
    with pytest.raises(SmsError) as refused:
        provider.send(mobile="13800138000", text="x", reference="r-1")

    # then
    assert refused.value.code == code
    assert refused.value.retryable is True


@pytest.mark.parametrize(
    ("mobile", "text", "reference", "code"),
    [
        ("12345", "x", "r-1", "isv.MOBILE_NUMBER_ILLEGAL"),
        ("+1 415 555 0100", "x", "r-1", "isv.MOBILE_NUMBER_ILLEGAL"),
        ("13800138000", "", "r-1", "empty_text"),
        ("13800138000", "x", "", "missing_reference"),
    ],
)
def test_what_aliyun_would_refuse_is_refused_before_any_request(mobile, text, reference, code):
    # given
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"Code": "OK", "BizId": "1"})

    provider = provider_answering(handler)

    # when
    with pytest.raises(SmsError) as refused:
        provider.send(mobile=mobile, text=text, reference=reference)

    # then
    assert refused.value.code == code
    assert refused.value.retryable is False
    assert requests == []
