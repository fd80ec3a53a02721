"""The SMS gateway's webhooks (Aliyun "HTTP 批量推送"): delivery receipts and merchants' replies.

Called by a machine, not a person: CSRF-exempt, no session or token counts — only the HMAC the
proxy in front of posdesk adds (callbacks.verify_callback; 404 while no secret is configured). A
refused push changes nothing but its record (RejectedInbound, rejections.py): 403 for a missing,
forged or stale signature, 400 for a malformed body, 413 for an oversized one, answered
`{"code", "message", "detail"}`. The acknowledgement Aliyun waits for is sent only after the push
is stored, so a push that fails here is pushed again and de-duplicated by its ids."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from posdesk.channels.rejections import declared_length, refuse_json
from posdesk.channels.sms.callbacks import (
    ACKNOWLEDGEMENT,
    MAX_CALLBACK_BYTES,
    CallbackRejected,
    parse_delivery_receipts,
    verify_callback,
)
from posdesk.channels.sms.intake import sms_inbound_receive
from posdesk.channels.sms.outbound import sms_receipts_record
from posdesk.contact.models import ContactChannel

TIMESTAMP_HEADER = "X-Posdesk-Timestamp"
SIGNATURE_HEADER = "X-Posdesk-Signature"


def _authenticated_body(request: HttpRequest) -> bytes:
    """The body of a push the signing proxy vouched for; raises CallbackRejected otherwise."""
    secret = settings.SMS_CALLBACK_SECRET
    if not secret:
        raise Http404  # the SMS webhooks are off until a secret is configured
    if (declared_length(request) or 0) > MAX_CALLBACK_BYTES:  # refused before the body is read into memory
        raise CallbackRejected("body_too_large")
    body = request.body
    verify_callback(secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER),
                    body, now=timezone.now())
    return body


def _refused(request: HttpRequest, refusal: CallbackRejected) -> JsonResponse:
    declared = declared_length(request) or 0
    # a push announced as oversized was refused before its body was read
    return refuse_json(
        request,
        channel=ContactChannel.SMS,
        code=refusal.reason,
        body=request.body if declared <= MAX_CALLBACK_BYTES else None,
        declared_bytes=declared,
        detail=None if refusal.index is None else {"item": refusal.index},
    )


def _acknowledged() -> JsonResponse:
    return JsonResponse(ACKNOWLEDGEMENT, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_POST
def aliyun_report(request: HttpRequest) -> JsonResponse:
    """Delivery receipts (SmsReport)."""
    try:
        receipts = parse_delivery_receipts(_authenticated_body(request))
    except CallbackRejected as refusal:
        return _refused(request, refusal)
    sms_receipts_record(receipts=receipts)
    return _acknowledged()


@csrf_exempt
@require_POST
def aliyun_up(request: HttpRequest) -> JsonResponse:
    """Merchants' replies (SmsUp)."""
    try:
        sms_inbound_receive(body=_authenticated_body(request))
    except CallbackRejected as refusal:
        return _refused(request, refusal)
    return _acknowledged()
