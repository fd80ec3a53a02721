"""Reads for the console's own records (saved queue views)."""

from __future__ import annotations

from django.db.models import QuerySet

from posdesk.accounts.models import User
from posdesk.console.models import SavedView
from posdesk.core.errors import NotFound


def saved_view_list_for_user(user: User) -> QuerySet[SavedView]:
    return SavedView.objects.filter(user=user).order_by("name", "pk")


def saved_view_get_for_user(user: User, *, view_id: int) -> SavedView:
    """The user's own saved view; another user's is NotFound (views are private)."""
    view = SavedView.objects.filter(pk=view_id, user=user).first()
    if view is None:
        raise NotFound(code="saved_view_not_found")
    return view
