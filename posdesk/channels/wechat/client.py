"""The outbound side of a WeChat Official Account: the customer-service message API (客服消息),
used for every real answer since the passive reply only says `success` within WeChat's 5 seconds.

The access token is fetched with the AppSecret, cached until 300 s before WeChat says it expires,
and refreshed once when the API reports it invalid or expired (another process may have fetched a
newer one, which retires ours). Secrets travel in query strings, so error messages never carry a
URL or the transport exception that would print one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TIMEOUT_SECONDS = 5.0
# Refresh this long before the announced expiry, so a token never dies in flight.
TOKEN_EXPIRY_MARGIN_SECONDS = 300
# invalid credential / access_token expired / invalid access_token (40014): fetch a new token.
TOKEN_REJECTED_ERRCODES = frozenset({40001, 42001, 40014})
# WeChat's "system busy, try again" code.
ERRCODE_SYSTEM_BUSY = -1

# Our own codes for failures that carry no WeChat errcode; all below any code WeChat uses.
ERRCODE_TRANSPORT = -1000  # connection refused, timeout, TLS or protocol failure
ERRCODE_HTTP_STATUS = -1001  # a non-200 HTTP answer
ERRCODE_BAD_RESPONSE = -1002  # an answer that is not the JSON the API documents


class WeChatApiError(Exception):
    """A call to the WeChat API failed. `errcode`/`errmsg` are WeChat's own when it answered, or
    one of the ERRCODE_* codes above when it did not."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat API error {errcode}: {errmsg}")

    @property
    def retryable(self) -> bool:
        """Whether sending the same message again later may succeed (the outbox retries these and
        dead-letters the rest, e.g. 45015: the merchant has not written within 48 hours)."""
        return self.errcode in (ERRCODE_TRANSPORT, ERRCODE_HTTP_STATUS, ERRCODE_SYSTEM_BUSY)


class WeChatClient:
    def __init__(
        self,
        app_id: str,
        app_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self._app_secret = app_secret
        self.base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=TIMEOUT_SECONDS)
        self._clock = clock
        self._token: str | None = None
        self._token_expires_at = 0.0
        # One client may serve several threads; only one of them should fetch a new token.
        self._token_lock = threading.Lock()

    def __repr__(self) -> str:  # never the secret or the token
        return f"WeChatClient(app_id={self.app_id!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> WeChatClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def access_token(self) -> str:
        """A valid access token, from the cache while it has more than 300 s to live."""
        with self._token_lock:
            if self._token is not None and self._clock() < self._token_expires_at:
                return self._token
            return self._fetch_token()

    def _refresh_token(self, rejected_token: str) -> str:
        with self._token_lock:
            # Another thread may already have replaced the token the API just rejected.
            if (
                self._token is not None
                and self._token != rejected_token
                and self._clock() < self._token_expires_at
            ):
                return self._token
            return self._fetch_token()

    def _fetch_token(self) -> str:
        self._token = None
        answer = self._call(
            "GET",
            "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.app_id, "secret": self._app_secret},
        )
        token = answer.get("access_token")
        expires_in = answer.get("expires_in")
        if (
            not isinstance(token, str)
            or not token
            or isinstance(expires_in, bool)
            or not isinstance(expires_in, int)
        ):
            raise WeChatApiError(ERRCODE_BAD_RESPONSE, "The token answer lacks access_token or expires_in.")
        self._token = token
        self._token_expires_at = self._clock() + max(expires_in - TOKEN_EXPIRY_MARGIN_SECONDS, 0)
        return token

    def send_text(self, openid: str, content: str) -> None:
        """Send a customer-service text message to a follower. Raises WeChatApiError."""
        if not openid:
            raise ValueError("openid must not be empty")
        if not content:
            raise ValueError("content must not be empty")
        payload = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        self._post_with_token("/cgi-bin/message/custom/send", payload)

    def _post_with_token(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        # Chinese is sent as UTF-8, not \uXXXX escapes: WeChat counts the length in characters
        # either way, but the escaped form is six times longer on the wire and in logs.
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        token = self.access_token()
        try:
            return self._call_checked(path, token, body)
        except WeChatApiError as exc:
            if exc.errcode not in TOKEN_REJECTED_ERRCODES:
                raise
        return self._call_checked(path, self._refresh_token(token), body)

    def _call_checked(self, path: str, token: str, body: bytes) -> dict[str, Any]:
        return self._call(
            "POST",
            path,
            params={"access_token": token},
            content=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str],
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            response = self._http.request(
                method,
                self.base_url + path,
                params=params,
                content=content,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            # `from None`: httpx's message and chain would print the URL, secret included.
            raise WeChatApiError(ERRCODE_TRANSPORT, type(exc).__name__) from None
        if response.status_code != 200:
            raise WeChatApiError(ERRCODE_HTTP_STATUS, f"HTTP {response.status_code}")
        try:
            answer = json.loads(response.content)
        except ValueError:
            raise WeChatApiError(ERRCODE_BAD_RESPONSE, "The answer is not JSON.") from None
        if not isinstance(answer, dict):
            raise WeChatApiError(ERRCODE_BAD_RESPONSE, "The answer is not a JSON object.")
        errcode = answer.get("errcode", 0)
        if isinstance(errcode, bool) or not isinstance(errcode, int):
            raise WeChatApiError(ERRCODE_BAD_RESPONSE, "The errcode is not a number.")
        if errcode != 0:
            raise WeChatApiError(errcode, str(answer.get("errmsg", "")))
        return answer
