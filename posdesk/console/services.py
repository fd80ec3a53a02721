"""Writes of the staff console: staff sign-in and saved queue views."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import Role, User
from posdesk.accounts.services import login_failure_record, login_failures_clear, login_throttle_check
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.console.models import SavedView
from posdesk.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error

SIGN_IN_SCOPE = "console"
# The queue parameters a saved view keeps; the page cursor is deliberately not one of them.
QUEUE_PARAMS = ("q", "status", "priority", "category", "channel", "team", "assignee", "district", "sort")
SAVED_VIEWS_PER_USER = 50


def staff_sign_in(*, request: HttpRequest, username: str, password: str) -> User:
    """Check a staff member's username and password. Failures count against the username and
    lock it for a while (SPEC §8); merchants are sent to the portal. Returns the user, who is
    not yet logged in: starting the session is the view's job."""
    username = (username or "").strip()
    login_throttle_check(scope=SIGN_IN_SCOPE, ident=username)
    user = authenticate(request, username=username, password=password or "")
    if user is None:
        login_failure_record(scope=SIGN_IN_SCOPE, ident=username)
        raise ValidationFailed(_("The username or password is wrong."), code="invalid_credentials")
    if user.role == Role.MERCHANT:
        raise PermissionDenied(
            _(
                "This is a merchant account. Merchants sign in to the merchant portal with their mobile number."
            ),
            code="merchant_account",
        )
    if not user.is_staff_role:
        raise PermissionDenied(_("This account may not use the staff console."), code="not_staff")
    login_failures_clear(scope=SIGN_IN_SCOPE, ident=username)
    audit_record(actor=user, action=AuditEntry.Action.SIGN_IN, target=user, summary="console sign-in")
    return user


def saved_view_query_clean(query: str) -> str:
    """Keep only the queue's filter parameters, without empty values, in a stable order."""
    source = QueryDict(query.lstrip("?"))
    kept = QueryDict(mutable=True)
    for key in QUEUE_PARAMS:
        values = [v.strip() for v in source.getlist(key) if v.strip()]
        if values:
            kept.setlist(key, values)
    return kept.urlencode()


@transaction.atomic
def saved_view_create(*, user: User, name: str, query: str) -> SavedView:
    name = (name or "").strip()
    if not name:
        raise field_error("name", _("Give the view a name."), code="name_required")
    if len(name) > 60:
        raise field_error(
            "name", _("The name is longer than %(max)d characters.") % {"max": 60}, code="name_too_long"
        )
    query = saved_view_query_clean(query or "")
    if len(query) > 1000:
        raise field_error("query", _("These filters are too long to save."), code="query_too_long")
    if SavedView.objects.filter(user=user).count() >= SAVED_VIEWS_PER_USER:
        raise Conflict(
            _("You can keep at most %(max)d saved views.") % {"max": SAVED_VIEWS_PER_USER},
            code="too_many_saved_views",
        )
    try:
        with transaction.atomic():
            return SavedView.objects.create(user=user, name=name, query=query)
    except IntegrityError as exc:
        raise Conflict(
            _("You already have a view with this name."), code="saved_view_exists", detail={"field": "name"}
        ) from exc


def saved_view_delete(*, view: SavedView, user: User) -> None:
    if view.user_id != user.pk:
        raise PermissionDenied()
    view.delete()
