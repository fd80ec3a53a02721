"""The one page-side view of this app: attachment download through the ticket access gate."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpRequest

from posdesk.accounts.services import api_token_authenticate
from posdesk.core.errors import NotFound
from posdesk.tickets import policies
from posdesk.tickets.models import TicketAttachment
from posdesk.tickets.selectors import ticket_scope_for_user


def _requester(request: HttpRequest) -> Any:
    """The signed-in user, or for API clients (which get `/attachments/<id>` URLs in API answers)
    the owner of a valid bearer token."""
    if request.user.is_authenticated:
        return request.user
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return api_token_authenticate(token.strip()) or request.user
    return request.user


def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    user = _requester(request)
    attachment = (
        TicketAttachment.objects.filter(pk=attachment_id, ticket__in=ticket_scope_for_user(user))
        .select_related("ticket")
        .first()
    )
    if attachment is None or (not attachment.is_public and not policies.can_see_internal(user)):
        raise Http404(str(NotFound.default_message))
    inline = attachment.content_type.startswith("image/") or attachment.content_type == "application/pdf"
    response = FileResponse(
        attachment.file.open("rb"), content_type=attachment.content_type, as_attachment=not inline,
        filename=attachment.original_name,
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response
