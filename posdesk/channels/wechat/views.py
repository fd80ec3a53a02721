"""The server URL of the WeChat Official Account (公众号): URL verification (GET) and every push
(POST), in plaintext, compatible or safe (AES) mode.

A push is checked (signature, freshness), parsed with the hardened parser, stored, and answered
at once — WeChat waits 5 seconds, then tries again, three times in all. The real answer goes out
later through the customer-service API (wechat_process_task, then the outbox). Refusals change
nothing but their record (RejectedInbound, rejections.py): 403 for anything unauthenticated or
stale and for a push to another account (POSDESK_WECHAT_ACCOUNT_ID), 400 for a body that is not a
WeChat push, 413 for one over 64 KiB. WeChat reads no error body, so refusals have none."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from posdesk.channels.rejections import STATUS_OF_REASON, declared_length, reason_of, remote_addr
from posdesk.channels.services import inbound_rejection_record, inbound_store
from posdesk.channels.tasks import wechat_process_task
from posdesk.channels.wechat.crypto import WeChatCrypto, WeChatSecurityError, check_signature, check_timestamp
from posdesk.channels.wechat.intake import TICKET_MESSAGE_TYPES, pushed_text
from posdesk.channels.wechat.messages import MAX_BODY_BYTES, MalformedMessage, parse_message, text_reply
from posdesk.contact.models import ContactChannel

ACKNOWLEDGED = "已收到您的消息，正在为您处理，请稍候。"
NOT_TAKEN = "目前只能处理文字和图片消息，请用文字描述 POS 机的问题，或发送屏幕照片。"


@lru_cache(maxsize=4)
def _crypto(token: str, encoding_aes_key: str, app_id: str) -> WeChatCrypto:
    return WeChatCrypto(token, encoding_aes_key, app_id)


def _refused(
    request: HttpRequest, code: str, *, body: bytes | None = None, declared_bytes: int = 0
) -> HttpResponse:
    # recorded and logged with our code only: nothing the sender chose (openid, body) reaches the log
    reason = reason_of(code)
    status = STATUS_OF_REASON[reason]
    inbound_rejection_record(
        channel=ContactChannel.WECHAT,
        reason=reason,
        code=code,
        status=status,
        body=body,
        declared_bytes=declared_bytes,
        remote_addr=remote_addr(request),
    )
    return HttpResponse(status=status)


def _text(body: str, content_type: str = "text/plain; charset=utf-8") -> HttpResponse:
    return HttpResponse(body.encode("utf-8"), content_type=content_type)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def wechat_callback(request: HttpRequest) -> HttpResponse:
    token = settings.WECHAT_TOKEN
    if not token:
        raise Http404("The WeChat channel is not configured.")
    signature = request.GET.get("signature", "")
    timestamp = request.GET.get("timestamp", "")
    nonce = request.GET.get("nonce", "")
    if request.method == "GET":
        if not check_signature(token, signature, timestamp, nonce):
            return _refused(request, "bad_signature", body=b"")
        return _text(request.GET.get("echostr", ""))
    return _push(request, token, signature, timestamp, nonce)


def _push(request: HttpRequest, token: str, signature: str, timestamp: str, nonce: str) -> HttpResponse:
    declared = declared_length(request)
    if declared is None:
        return _refused(request, "bad_content_length")  # not read
    if declared > MAX_BODY_BYTES:  # refused before reading it
        return _refused(request, "too_large", declared_bytes=declared)
    crypto = None
    try:
        if request.GET.get("encrypt_type", "") == "aes":
            if not settings.WECHAT_ENCODING_AES_KEY or not settings.WECHAT_APP_ID:
                return _refused(request, "safe_mode_not_configured", body=request.body)
            crypto = _crypto(token, settings.WECHAT_ENCODING_AES_KEY, settings.WECHAT_APP_ID)
            # compatible mode also carries the message in clear beside <Encrypt>: only what was
            # signed and decrypted is read
            xml = crypto.decrypt_message(request.body, request.GET.get("msg_signature", ""), timestamp, nonce,
                                         now=timezone.now()).encode("utf-8")
        else:
            if settings.WECHAT_ENCODING_AES_KEY:
                # a plaintext signature covers no body; with a key set, WeChat always encrypts
                return _refused(request, "plaintext_refused", body=request.body)
            if not check_signature(token, signature, timestamp, nonce):
                return _refused(request, "bad_signature", body=request.body)
            check_timestamp(timestamp, timezone.now())
            xml = request.body
        pushed = parse_message(xml)
    except WeChatSecurityError as exc:
        return _refused(request, exc.reason, body=request.body)  # bad_envelope: 400; the others 403
    except MalformedMessage as exc:
        return _refused(request, exc.reason, body=request.body)
    if settings.WECHAT_ACCOUNT_ID and pushed.to_user != settings.WECHAT_ACCOUNT_ID:
        return _refused(request, "unknown_account", body=request.body)

    message, created = inbound_store(channel=ContactChannel.WECHAT, provider_id=pushed.dedupe_key,
                                     sender=pushed.from_user, payload=xml, text=pushed_text(pushed))
    if message.status == message.Status.RECEIVED:
        # a retry of a message whose processing was lost (a broker outage) kicks it again;
        # processing is once per stored message however often it is kicked
        transaction.on_commit(lambda: wechat_process_task.delay(message.pk))
    if not created or pushed.msg_type == "event":
        return _text("success")  # also stops WeChat's retries
    answer = text_reply(pushed.from_user, pushed.to_user,
                        ACKNOWLEDGED if pushed.msg_type in TICKET_MESSAGE_TYPES else NOT_TAKEN,
                        int(timezone.now().timestamp()))
    if crypto is not None:
        answer = crypto.encrypt_message(answer, nonce=nonce)
    return _text(answer, "application/xml; charset=utf-8")
