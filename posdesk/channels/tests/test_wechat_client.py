"""The customer-service message API client (C3) against a local fake of WeChat's documented
endpoints: a real HTTP server on loopback for the protocol, httpx.MockTransport where a failure
(timeout) cannot be produced on loopback without waiting. Time is a fake clock, never the wall."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from posdesk.channels.wechat.client import (
    ERRCODE_BAD_RESPONSE,
    ERRCODE_HTTP_STATUS,
    ERRCODE_TRANSPORT,
    TIMEOUT_SECONDS,
    WeChatApiError,
    WeChatClient,
)

APP_ID = "wx2c2769f8efd9abc2"
APP_SECRET = "s3cr3t-app-secret-never-in-errors"
OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
T0 = 1_750_000_000.0


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeWeChat:
    """The two endpoints as WeChat documents them. Tokens are numbered; only the newest is
    valid, like WeChat, where fetching a token retires the previous one."""

    expires_in: int = 7200
    token_error: dict[str, Any] | None = None
    send_errors: list[dict[str, Any]] = field(default_factory=list)  # answered first, in order
    status: int = 200
    raw_answer: bytes | None = None
    issued: int = 0
    requests: list[Recorded] = field(default_factory=list)

    def of(self, path: str) -> list[Recorded]:
        return [request for request in self.requests if request.path == path]

    def answer(self, request: Recorded) -> tuple[int, bytes]:
        if self.raw_answer is not None:
            return self.status, self.raw_answer
        if request.path == "/cgi-bin/token":
            if self.token_error is not None:
                return self.status, json.dumps(self.token_error).encode()
            self.issued += 1
            return self.status, json.dumps(
                {"access_token": f"TOKEN{self.issued}", "expires_in": self.expires_in}
            ).encode()
        if request.path == "/cgi-bin/message/custom/send" and request.method == "POST":
            if self.send_errors:
                return self.status, json.dumps(self.send_errors.pop(0)).encode()
            if request.query.get("access_token") != f"TOKEN{self.issued}":
                return (
                    self.status,
                    b'{"errcode":40001,"errmsg":"invalid credential, access_token is invalid"}',
                )
            return self.status, b'{"errcode":0,"errmsg":"ok"}'
        return 404, b"{}"


class FakeWeChatHandler(BaseHTTPRequestHandler):
    server: FakeWeChatServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Recorded(
            self.command, url.path, dict(parse_qsl(url.query)), dict(self.headers.items()), body
        )
        with self.server.lock:
            self.server.fake.requests.append(request)
            status, answer = self.server.fake.answer(request)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output clean
        pass


class FakeWeChatServer(ThreadingHTTPServer):
    def __init__(self, fake: FakeWeChat) -> None:
        super().__init__(("127.0.0.1", 0), FakeWeChatHandler)
        self.fake = fake
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeWeChat:
    return FakeWeChat()


@pytest.fixture
def server(fake: FakeWeChat) -> Iterator[FakeWeChatServer]:
    fake_server = FakeWeChatServer(fake)
    thread = threading.Thread(target=fake_server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield fake_server
    fake_server.shutdown()
    fake_server.server_close()
    thread.join()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(server: FakeWeChatServer, clock: FakeClock) -> Iterator[WeChatClient]:
    # trust_env=False: a proxy configured on the machine must not capture loopback calls
    with httpx.Client(trust_env=False) as http:
        yield WeChatClient(APP_ID, APP_SECRET, base_url=server.base_url, http=http, clock=clock)


def mock_client(handler: Any) -> WeChatClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return WeChatClient(APP_ID, APP_SECRET, http=http, clock=FakeClock())


def api_error(call: Any, *args: Any) -> WeChatApiError:
    with pytest.raises(WeChatApiError) as raised:
        call(*args)
    return raised.value


# --- token --------------------------------------------------------------------------------------


def test_the_token_request_carries_grant_type_app_id_and_secret(
    client: WeChatClient, fake: FakeWeChat
) -> None:
    token = client.access_token()

    assert token == "TOKEN1"
    [request] = fake.of("/cgi-bin/token")
    assert request.method == "GET"
    assert request.query == {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}


def test_the_token_is_fetched_once_and_reused(
    client: WeChatClient, fake: FakeWeChat, clock: FakeClock
) -> None:
    # when two messages are sent an hour apart
    client.send_text(OPENID, "第一条")
    clock.now += 3600
    client.send_text(OPENID, "第二条")

    # then
    assert len(fake.of("/cgi-bin/token")) == 1
    assert [r.query["access_token"] for r in fake.of("/cgi-bin/message/custom/send")] == ["TOKEN1", "TOKEN1"]


def test_the_token_is_refreshed_300_seconds_before_it_expires(
    client: WeChatClient, fake: FakeWeChat, clock: FakeClock
) -> None:
    # given a token valid for 7200 s
    assert client.access_token() == "TOKEN1"

    # when 6899 s have passed it is still used; at 6900 s (7200 − 300) a new one is fetched
    clock.now = T0 + 6899
    assert client.access_token() == "TOKEN1"
    clock.now = T0 + 6900
    assert client.access_token() == "TOKEN2"
    assert len(fake.of("/cgi-bin/token")) == 2


def test_a_token_living_less_than_the_margin_is_not_reused(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.expires_in = 120

    assert [client.access_token(), client.access_token()] == ["TOKEN1", "TOKEN2"]


def test_a_token_endpoint_error_is_raised_and_nothing_is_sent(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.token_error = {"errcode": 40125, "errmsg": "invalid appsecret"}

    error = api_error(client.send_text, OPENID, "hi")

    assert (error.errcode, error.errmsg) == (40125, "invalid appsecret")
    assert not error.retryable
    assert fake.of("/cgi-bin/message/custom/send") == []


def test_a_failed_token_fetch_is_tried_again_on_the_next_call(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.token_error = {"errcode": -1, "errmsg": "system error"}
    assert api_error(client.access_token).retryable

    fake.token_error = None

    assert client.access_token() == "TOKEN1"


def test_a_token_answer_without_expires_in_is_refused() -> None:
    client = mock_client(lambda request: httpx.Response(200, json={"access_token": "T"}))

    assert api_error(client.access_token).errcode == ERRCODE_BAD_RESPONSE


# --- sending ------------------------------------------------------------------------------------


def test_chinese_content_is_sent_as_utf8_not_escaped(client: WeChatClient, fake: FakeWeChat) -> None:
    content = "您好，您的 POS 机维修工单已受理（应答码 A0），工程师今天 14:00 前上门。"

    client.send_text(OPENID, content)

    [request] = fake.of("/cgi-bin/message/custom/send")
    assert content.encode("utf-8") in request.body
    assert b"\\u" not in request.body
    assert json.loads(request.body) == {"touser": OPENID, "msgtype": "text", "text": {"content": content}}
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("errcode", [40001, 42001, 40014])
def test_a_rejected_token_is_refreshed_once_and_the_message_sent_again(
    client: WeChatClient, fake: FakeWeChat, errcode: int
) -> None:
    # given a cached token, then WeChat rejecting it (expired early, or retired by another process)
    client.access_token()
    fake.send_errors = [{"errcode": errcode, "errmsg": "access_token rejected"}]
    fake.issued += 1  # elsewhere, someone fetched TOKEN2, which retired TOKEN1

    # when
    client.send_text(OPENID, "hi")

    # then one new token was fetched and the second attempt used it
    assert len(fake.of("/cgi-bin/token")) == 2
    assert [r.query["access_token"] for r in fake.of("/cgi-bin/message/custom/send")] == ["TOKEN1", "TOKEN3"]


def test_a_token_retired_elsewhere_is_replaced_without_a_preset_error(
    client: WeChatClient, fake: FakeWeChat
) -> None:
    client.access_token()
    fake.issued += 1  # TOKEN1 is now invalid at the fake, which answers 40001 by itself

    client.send_text(OPENID, "hi")

    assert fake.of("/cgi-bin/message/custom/send")[-1].query["access_token"] == "TOKEN3"


def test_a_token_rejected_twice_raises_after_a_single_refresh(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.send_errors = [{"errcode": 40001, "errmsg": "invalid credential"}] * 3

    error = api_error(client.send_text, OPENID, "hi")

    assert error.errcode == 40001
    assert len(fake.of("/cgi-bin/token")) == 2
    assert len(fake.of("/cgi-bin/message/custom/send")) == 2


def test_an_api_error_carries_wechats_code_and_message_and_is_not_retried(
    client: WeChatClient, fake: FakeWeChat
) -> None:
    # given the merchant has not written to the account within 48 hours
    fake.send_errors = [
        {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
    ]

    error = api_error(client.send_text, OPENID, "hi")

    assert error.errcode == 45015
    assert error.errmsg == "response out of time limit or subscription is canceled"
    assert not error.retryable
    assert len(fake.of("/cgi-bin/message/custom/send")) == 1
    assert len(fake.of("/cgi-bin/token")) == 1


def test_system_busy_is_retryable(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.send_errors = [{"errcode": -1, "errmsg": "system error"}]

    assert api_error(client.send_text, OPENID, "hi").retryable


@pytest.mark.parametrize("openid, content", [("", "hi"), (OPENID, "")])
def test_an_empty_recipient_or_content_is_refused_before_calling_wechat(
    client: WeChatClient, fake: FakeWeChat, openid: str, content: str
) -> None:
    with pytest.raises(ValueError):
        client.send_text(openid, content)
    assert fake.requests == []


# --- transport failures -------------------------------------------------------------------------


def test_an_http_error_status_is_raised_as_retryable(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.status = 502

    error = api_error(client.send_text, OPENID, "hi")

    assert (error.errcode, error.errmsg) == (ERRCODE_HTTP_STATUS, "HTTP 502")
    assert error.retryable


def test_an_answer_that_is_not_json_is_refused(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.raw_answer = b"<html>gateway</html>"

    error = api_error(client.access_token)

    assert error.errcode == ERRCODE_BAD_RESPONSE
    assert not error.retryable


def test_a_refused_connection_is_raised_as_retryable() -> None:
    # given a loopback port with nobody listening
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with httpx.Client(trust_env=False) as http:
        client = WeChatClient(APP_ID, APP_SECRET, base_url=f"http://127.0.0.1:{port}", http=http)

        error = api_error(client.send_text, OPENID, "hi")

    assert (error.errcode, error.errmsg) == (ERRCODE_TRANSPORT, "ConnectError")
    assert error.retryable


def test_a_timeout_is_raised_as_retryable_without_leaking_the_secret() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    error = api_error(mock_client(time_out).access_token)

    assert (error.errcode, error.errmsg) == (ERRCODE_TRANSPORT, "ReadTimeout")
    assert error.retryable
    # neither the message nor a chained exception can print the URL with the secret in it
    assert APP_SECRET not in str(error)
    assert error.__cause__ is None and error.__suppress_context__


def test_every_call_waits_at_most_five_seconds() -> None:
    timeouts: list[dict[str, float | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        if request.url.path == "/cgi-bin/token":
            return httpx.Response(200, json={"access_token": "T", "expires_in": 7200})
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    mock_client(answer).send_text(OPENID, "hi")

    assert TIMEOUT_SECONDS == 5.0
    assert timeouts == [dict.fromkeys(("connect", "read", "write", "pool"), 5.0)] * 2


def test_the_client_never_shows_its_secret_or_token(client: WeChatClient) -> None:
    client.access_token()

    assert APP_SECRET not in repr(client)
    assert "TOKEN1" not in repr(client)
