"""The call centre's webhook: POST /channels/phone/events, one call event per request, signed like
the SMS gateway's pushes (X-Posdesk-Timestamp, X-Posdesk-Signature: hex HMAC-SHA256 with
settings.PHONE_WEBHOOK_SECRET over "<timestamp>." + body; channels/sms/callbacks.py).

    {"call_id": "…", "event": "ringing|answered|ended|missed|abandoned", "caller": "138…",
     "callee": "…"?, "at": "2026-11-20T17:50:00+08:00", "agent": "<username>"?, "recording_url": "https://…"?}

404 while no secret is configured, 403 for a missing, forged or stale signature, 413 for a body
over 1 MiB (refused before it is read), 400 for anything else malformed — each changing nothing but
its record (RejectedInbound, rejections.py) and answered `{"code", "message", "detail"}`. The event is stored before
the 200; a repeated event answers 200 again and changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as SchemaError

from posdesk.channels.phone.services import call_event_record
from posdesk.channels.rejections import declared_length, refuse_json
from posdesk.channels.sms.callbacks import MAX_CALLBACK_BYTES, CallbackRejected, verify_callback
from posdesk.contact.models import ContactChannel
from posdesk.core.errors import ValidationFailed


class CallEventIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    call_id: str = Field(min_length=1, max_length=100)
    event: Literal["ringing", "answered", "ended", "missed", "abandoned"]
    caller: str = Field(min_length=1, max_length=40)
    callee: str | None = Field(None, max_length=40)
    at: AwareDatetime
    agent: str | None = Field(None, max_length=150)
    recording_url: str | None = Field(None, max_length=500)

    @field_validator("recording_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("an http(s) address")
        return value or None


def _refused(request: HttpRequest, code: str, body: bytes | None, detail: object = None) -> JsonResponse:
    return refuse_json(
        request,
        channel=ContactChannel.PHONE,
        code=code,
        body=body,
        declared_bytes=declared_length(request) or 0,
        detail=detail,
    )


@csrf_exempt
@require_POST
def phone_events(request: HttpRequest) -> JsonResponse:
    secret = settings.PHONE_WEBHOOK_SECRET
    if not secret:
        raise Http404("the call centre webhook is not configured")
    if (declared_length(request) or 0) > MAX_CALLBACK_BYTES:  # refused before it is read into memory
        return _refused(request, "body_too_large", None)
    body = request.body
    try:
        verify_callback(secret, request.headers.get("X-Posdesk-Timestamp"),
                        request.headers.get("X-Posdesk-Signature"), body, timezone.now())
    except CallbackRejected as exc:
        return _refused(request, exc.reason, body)
    try:
        event = CallEventIn.model_validate_json(body)
    except SchemaError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
        return _refused(request, "malformed_event", body, {"fields": fields})
    at: datetime = event.at
    try:
        record, new = call_event_record(
            call_id=event.call_id, event=event.event, caller=event.caller, callee=event.callee or "", at=at,
            agent=event.agent or "", recording_url=event.recording_url or "", payload=body)
    except ValidationFailed as exc:
        return _refused(request, exc.code, body, exc.detail)
    return JsonResponse({"code": "ok", "call_id": record.call_id, "state": record.state, "duplicate": not new})
