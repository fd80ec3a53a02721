"""How the webhooks refuse a call: each channel's own refusal code (bad_padding, not_a_list,
body_too_large …) grouped into the reasons an admin filters by, the HTTP status each reason is
answered with, and the JSON answer of the JSON webhooks (SMS, phone) in the project's error shape
`{"code", "message", "detail"}`, `code` being the channel's own. Every refusal is recorded once
(services.inbound_rejection_record); nothing else of the call is stored."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _

from posdesk.channels.models import RejectedInbound
from posdesk.channels.services import inbound_rejection_record

Reason = RejectedInbound.Reason

REASON_OF_CODE: dict[str, str] = {
    # signatures: missing, forged, not checkable, or a body no signature covers
    "bad_signature": Reason.BAD_SIGNATURE,
    "missing_signature": Reason.BAD_SIGNATURE,
    "missing_timestamp": Reason.BAD_SIGNATURE,
    "bad_timestamp": Reason.BAD_SIGNATURE,
    "bad_token": Reason.BAD_SIGNATURE,
    "plaintext_refused": Reason.BAD_SIGNATURE,
    "safe_mode_not_configured": Reason.BAD_SIGNATURE,
    "bad_padding": Reason.BAD_SIGNATURE,  # a ciphertext whose signature held but not made with our key
    "bad_ciphertext": Reason.BAD_SIGNATURE,
    # replays
    "stale_timestamp": Reason.STALE_TIMESTAMP,
    # sizes
    "body_too_large": Reason.OVERSIZED,
    "too_large": Reason.OVERSIZED,
    "mail_too_large": Reason.OVERSIZED,
    # another account's traffic
    "bad_app_id": Reason.UNKNOWN_ACCOUNT,
    "unknown_account": Reason.UNKNOWN_ACCOUNT,
}  # every other code: a malformed body (XML, JSON, MIME, a field)

STATUS_OF_REASON: dict[str, int] = {
    Reason.BAD_SIGNATURE: 403,
    Reason.STALE_TIMESTAMP: 403,
    Reason.MALFORMED_BODY: 400,
    Reason.OVERSIZED: 413,
    Reason.UNKNOWN_ACCOUNT: 403,
}

MESSAGE_OF_REASON = {
    Reason.BAD_SIGNATURE: _("The call is not signed, or its signature does not match."),
    Reason.STALE_TIMESTAMP: _("The call's timestamp is too far from now; a replay is refused."),
    Reason.MALFORMED_BODY: _("The body of the call is not in the expected format."),
    Reason.OVERSIZED: _("The body of the call is too large."),
    Reason.UNKNOWN_ACCOUNT: _("The call is not addressed to our account."),
}


def reason_of(code: str) -> str:
    return REASON_OF_CODE.get(code, Reason.MALFORMED_BODY)


def remote_addr(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def declared_length(request: HttpRequest) -> int | None:
    """The Content-Length the caller announced (0 when none); None when it is not a number."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return None


def refuse_json(
    request: HttpRequest,
    *,
    channel: str,
    code: str,
    body: bytes | None,
    declared_bytes: int = 0,
    detail: Any = None,
) -> JsonResponse:
    """Record the refusal and answer it: the reason's status, `{"code", "message", "detail"}`."""
    reason = reason_of(code)
    status = STATUS_OF_REASON[reason]
    inbound_rejection_record(
        channel=channel,
        reason=reason,
        code=code,
        status=status,
        body=body,
        declared_bytes=declared_bytes,
        remote_addr=remote_addr(request),
    )
    return JsonResponse(
        {"code": code, "message": str(MESSAGE_OF_REASON[reason]), "detail": detail},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )
