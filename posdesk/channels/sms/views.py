"""The SMS gateway's webhooks (Aliyun "HTTP 批量推送"): delivery receipts and merchants' replies.

Called by a machine, not a person: CSRF-exempt, no session or token counts — only the HMAC the
proxy in front of posdesk adds (callbacks.verify_callback; 404 while no secret is configured). A
refused push changes nothing: 403 for a missing, forged or stale signature, 400 for a malformed
body, 413 for an oversized one. The acknowledgement Aliyun waits for is sent only after the push
is stored, so a push that fails here is pushed again and de-duplicated by its ids."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from posdesk.channels.sms.callbacks import (
    ACKNOWLEDGEMENT,
    MAX_CALLBACK_BYTES,
    CallbackRejected,
    parse_delivery_receipts,
    verify_callback,
)
from posdesk.channels.sms.intake import sms_inbound_receive
from posdesk.channels.sms.outbound import sms_receipts_record

logger = logging.getLogger("posdesk.channels")

TIMESTAMP_HEADER = "X-Posdesk-Timestamp"
SIGNATURE_HEADER = "X-Posdesk-Signature"
REFUSED_AS_FORBIDDEN = frozenset(
    {"missing_signature", "missing_timestamp", "bad_timestamp", "stale_timestamp", "bad_signature",
     "bad_token"}
)


def _authenticated_body(request: HttpRequest) -> bytes:
    """The body of a push the signing proxy vouched for; raises CallbackRejected otherwise."""
    secret = settings.SMS_CALLBACK_SECRET
    if not secret:
        raise Http404  # the SMS webhooks are off until a secret is configured
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_CALLBACK_BYTES:  # refused before the body is read into memory
        raise CallbackRejected("body_too_large")
    body = request.body
    verify_callback(secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER),
                    body, now=timezone.now())
    return body


def _refused(request: HttpRequest, push: str, refusal: CallbackRejected) -> JsonResponse:
    if refusal.reason in REFUSED_AS_FORBIDDEN:
        status = 403
    else:
        status = 413 if refusal.reason == "body_too_large" else 400
    # the reason and the item's position only: the body holds merchants' mobiles and texts
    logger.warning("sms callback refused",
                   extra={"push": push, "reason": refusal.reason, "item": refusal.index, "status": status,
                          "remote_addr": request.META.get("REMOTE_ADDR")})
    return JsonResponse({"code": refusal.reason}, status=status)


def _acknowledged() -> JsonResponse:
    return JsonResponse(ACKNOWLEDGEMENT, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_POST
def aliyun_report(request: HttpRequest) -> JsonResponse:
    """Delivery receipts (SmsReport)."""
    try:
        receipts = parse_delivery_receipts(_authenticated_body(request))
    except CallbackRejected as refusal:
        return _refused(request, "report", refusal)
    sms_receipts_record(receipts=receipts)
    return _acknowledged()


@csrf_exempt
@require_POST
def aliyun_up(request: HttpRequest) -> JsonResponse:
    """Merchants' replies (SmsUp)."""
    try:
        sms_inbound_receive(body=_authenticated_body(request))
    except CallbackRejected as refusal:
        return _refused(request, "up", refusal)
    return _acknowledged()
