"""Input parsing for the console pages. Forms check shape only (required, length, one of the
known codes); the rules live in the services, whose ApplicationErrors are put back on the form
by `add_application_error`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import User
from posdesk.accounts.selectors import assignable_users_for, team_list, vendor_organisation_list
from posdesk.core.errors import ApplicationError, field_error
from posdesk.core.taxonomy import Category, Priority, Status
from posdesk.tickets.models import Ticket
from posdesk.tickets.selectors import SORTS, TicketFilters
from posdesk.tickets.services import MAX_TEXT

# Queue status filter: empty means "every open status" (the default view), ALL means no filter.
STATUS_OPEN = ""
STATUS_ALL = "all"
DEFAULT_SORT = "-created_at"
BULK_KEEP = ""
BULK_CLEAR = "none"
BULK_MAX_TICKETS = 100


def add_application_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a domain error on the field it names, else above the form, in the active language."""
    field = exc.detail.get("field") if isinstance(exc.detail, dict) else None
    form.add_error(field if field in form.fields else None, str(exc.message))


# --- sign-in ------------------------------------------------------------------------------


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), max_length=200, strip=False, widget=forms.PasswordInput)


# --- the queue ----------------------------------------------------------------------------


@dataclass
class QueueQuery:
    """The queue's URL parameters, parsed: what the selector needs, plus the raw choices for
    showing the filter form as it was submitted."""

    filters: TicketFilters
    sort: str
    cursor: str | None
    status: list[str]
    priority: list[str]
    category: list[str]
    channel: list[str]
    team: str
    assignee: str
    district: str
    q: str


def _values(params: QueryDict, key: str) -> list[str]:
    return [v.strip() for v in params.getlist(key) if v.strip()]


def queue_query_from(params: QueryDict) -> QueueQuery:
    """Parse the queue's query string. Unknown codes are refused by the selector itself."""
    status = _values(params, "status")
    team = params.get("team", "").strip()
    if team and not team.isdigit():
        raise field_error("team", _("Unknown value: %(values)s") % {"values": team}, code="invalid_filter")
    sort = params.get("sort", "").strip() or DEFAULT_SORT
    filters = TicketFilters(
        status=[s for s in status if s != STATUS_ALL],
        open_only=not status,
        priority=_values(params, "priority"),
        category=_values(params, "category"),
        channel=_values(params, "channel"),
        team=int(team) if team else None,
        assignee=params.get("assignee", "").strip(),
        district=params.get("district", "").strip(),
        q=params.get("q", "").strip()[:100],
    )
    return QueueQuery(
        filters=filters,
        sort=sort,
        cursor=params.get("cursor", "").strip() or None,
        status=status,
        priority=filters.priority,
        category=filters.category,
        channel=filters.channel,
        team=team,
        assignee=filters.assignee,
        district=filters.district,
        q=filters.q,
    )


SORT_LABELS = {
    "-created_at": _("Newest first"),
    "created_at": _("Oldest first"),
    "-updated_at": _("Recently updated"),
    "priority": _("Priority"),
    "sla_due_at": _("Most urgent first (nearest deadline)"),
}
assert set(SORT_LABELS) == set(SORTS), "every queue sort needs a label"


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("View name"), max_length=60)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class IdListField(forms.Field):
    """Repeated `name=<id>` parameters (checkboxes) as a list of ints."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        ids = []
        for item in value:
            if not str(item).isdigit():
                raise forms.ValidationError(_("Unknown value: %(values)s") % {"values": item})
            ids.append(int(item))
        return ids


class BulkAssignForm(forms.Form):
    ticket = IdListField(error_messages={"required": _("Tick at least one ticket.")})
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            (BULK_KEEP, _("— keep assignee —")),
            (BULK_CLEAR, _("— unassigned —")),
            *[
                (str(u.pk), person_label(u))
                for u in assignable_users_for(user).order_by("display_name", "pk")
            ],
        ]
        self.fields["team"].choices = [
            (BULK_KEEP, _("— keep team —")),
            (BULK_CLEAR, _("— no team —")),
            *[(str(t.pk), t.name) for t in team_list()],
        ]

    def clean_ticket(self) -> list[int]:
        ids = self.cleaned_data["ticket"]
        if len(ids) > BULK_MAX_TICKETS:
            raise forms.ValidationError(_("At most %(max)d tickets at once.") % {"max": BULK_MAX_TICKETS})
        return ids

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("assignee", BULK_KEEP) == BULK_KEEP and data.get("team", BULK_KEEP) == BULK_KEEP:
            raise forms.ValidationError(_("Choose an assignee or a team."))
        return data


def person_label(user: User) -> str:
    return f"{user} · {user.get_role_display()}"


# --- the ticket page ----------------------------------------------------------------------


class TicketActionForm(forms.Form):
    """A form on the ticket page. Each has its own element ids (two forms have a `body`)."""

    id_prefix = "ticket"

    def __init__(
        self, data: Any = None, files: Any = None, *, user: User, ticket: Ticket, **kwargs: Any
    ) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(data, files, **kwargs)
        self.user = user
        self.ticket = ticket


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name; each is checked by content in `tickets.attachments`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,application/pdf"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ReplyForm(TicketActionForm):
    id_prefix = "reply"
    body = forms.CharField(
        label=_("Reply to the merchant"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("The merchant sees this reply.")}),
    )
    files = MultipleFileField(label=_("Attach photos or PDF"))


class NoteForm(TicketActionForm):
    id_prefix = "note"
    body = forms.CharField(
        label=_("Internal note"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Only staff see internal notes.")}),
    )
    files = MultipleFileField(label=_("Attach photos or PDF"))


class TransitionForm(TicketActionForm):
    """Any status code is accepted here: whether the move is legal is the lifecycle's call, so an
    illegal one gets the lifecycle's own error."""

    id_prefix = "transition"
    to_status = forms.ChoiceField(label=_("Change status to"), choices=Status.choices)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class AssigneeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return person_label(obj)


class AssignForm(TicketActionForm):
    id_prefix = "assign"
    assignee = AssigneeChoiceField(
        queryset=User.objects.none(), required=False, label=_("Assignee"), empty_label=_("— unassigned —")
    )
    team = forms.ModelChoiceField(
        queryset=team_list(), required=False, label=_("Team"), empty_label=_("— no team —")
    )
    vendor = forms.ModelChoiceField(
        queryset=vendor_organisation_list(), required=False, label=_("Vendor"), empty_label=_("— no vendor —")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ticket = self.ticket
        # The current assignee stays choosable even when this user could not pick them.
        self.fields["assignee"].queryset = User.objects.filter(
            Q(pk__in=assignable_users_for(self.user).values("pk")) | Q(pk=ticket.assignee_id)
        ).order_by("display_name", "pk")
        self.fields["team"].queryset = team_list()
        if self.user.is_desk:
            self.fields["vendor"].queryset = vendor_organisation_list()
        else:
            del self.fields["vendor"]  # field work is given to a vendor by the desk only
        self.initial.setdefault("assignee", ticket.assignee_id)
        self.initial.setdefault("team", ticket.team_id)
        self.initial.setdefault("vendor", ticket.vendor_id)

    def changes(self) -> dict[str, Any]:
        """Only what the user changed; an unchanged field is not sent to the service (a vendor may
        keep an assignee they could not have chosen)."""
        current = {
            "assignee": self.ticket.assignee_id,
            "team": self.ticket.team_id,
            "vendor": self.ticket.vendor_id,
        }
        changed = {}
        for name in ("assignee", "team", "vendor"):
            if name in self.fields:
                value = self.cleaned_data.get(name)
                if (value.pk if value else None) != current[name]:
                    changed[name] = value
        return changed


class ClassifyForm(TicketActionForm):
    id_prefix = "classify"
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("category", self.ticket.category)
        self.initial.setdefault("priority", self.ticket.priority)


class MergeForm(TicketActionForm):
    id_prefix = "merge"
    original = forms.CharField(
        label=_("Merge into ticket number"),
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "T2611220042"}),
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)
