"""The call centre's webhook: POST /channels/phone/events, one call event per request, signed like
the SMS gateway's pushes (X-Posdesk-Timestamp, X-Posdesk-Signature: hex HMAC-SHA256 with
settings.PHONE_WEBHOOK_SECRET over "<timestamp>." + body; channels/sms/callbacks.py).

    {"call_id": "…", "event": "ringing|answered|ended|missed|abandoned", "caller": "138…",
     "callee": "…"?, "at": "2026-11-20T17:50:00+08:00", "agent": "<username>"?, "recording_url": "https://…"?}

404 while no secret is configured, 403 for a missing, forged or stale signature, 413 for a body
over 1 MiB, 400 for anything else malformed — each changing nothing. The event is stored before
the 200; a repeated event answers 200 again and changes nothing."""

from __future__ import annotations

import logging
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
from posdesk.channels.sms.callbacks import CallbackRejected, verify_callback
from posdesk.core.errors import ValidationFailed

logger = logging.getLogger("posdesk.channels")

STATUS_OF_REFUSAL = {"malformed_json": 400, "body_too_large": 413}  # every other refusal: 403


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


def _refused(code: str, status: int, detail: object = None) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


@csrf_exempt
@require_POST
def phone_events(request: HttpRequest) -> JsonResponse:
    secret = settings.PHONE_WEBHOOK_SECRET
    if not secret:
        raise Http404("the call centre webhook is not configured")
    body = request.body
    try:
        verify_callback(secret, request.headers.get("X-Posdesk-Timestamp"),
                        request.headers.get("X-Posdesk-Signature"), body, timezone.now())
    except CallbackRejected as exc:
        logger.warning("call event refused", extra={"reason": exc.reason, "bytes": len(body)})
        return _refused(exc.reason, STATUS_OF_REFUSAL.get(exc.reason, 403))
    try:
        event = CallEventIn.model_validate_json(body)
    except SchemaError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
        logger.warning("call event refused", extra={"reason": "malformed_event", "fields": fields})
        return _refused("malformed_event", 400, {"fields": fields})
    at: datetime = event.at
    try:
        record, new = call_event_record(
            call_id=event.call_id, event=event.event, caller=event.caller, callee=event.callee or "", at=at,
            agent=event.agent or "", recording_url=event.recording_url or "", payload=body)
    except ValidationFailed as exc:
        logger.warning("call event refused", extra={"reason": exc.code})
        return _refused(exc.code, 400, exc.detail)
    return JsonResponse({"code": "ok", "call_id": record.call_id, "state": record.state, "duplicate": not new})
