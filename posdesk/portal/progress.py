"""What a merchant is told about where their ticket stands: the five-step progress bar and the
plain-language "what happens next" for each status. Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from posdesk.core.taxonomy import Status

S = Status

# The merchant sees five steps, not the ten internal states (已受理 → 处理中 → 上门 → 待确认 → 已解决).
PROGRESS_STEPS: tuple[tuple[Promise, frozenset[Status]], ...] = (
    (pgettext_lazy("portal progress step", "Received"), frozenset({S.NEW, S.TRIAGED})),
    (pgettext_lazy("portal progress step", "In progress"), frozenset({S.IN_PROGRESS, S.WAITING_MERCHANT})),
    (pgettext_lazy("portal progress step", "On-site visit"), frozenset({S.ONSITE_SCHEDULED, S.ONSITE_IN_PROGRESS})),
    (pgettext_lazy("portal progress step", "To confirm"), frozenset({S.PENDING_ACCEPTANCE})),
    (pgettext_lazy("portal progress step", "Resolved"), frozenset({S.RESOLVED, S.CLOSED})),
)


@dataclass(frozen=True)
class ProgressStep:
    label: Promise
    state: str  # "done", "current" or "todo"


@dataclass(frozen=True)
class NextStep:
    title: Promise | str
    text: Promise | str
    needs_merchant: bool  # the merchant has something to do (reply or confirm)


def progress_steps(status: str) -> list[ProgressStep]:
    """The progress bar for `status`; empty for a cancelled ticket, which has no progress."""
    if status == S.CANCELLED:
        return []
    current = next(i for i, (_label, statuses) in enumerate(PROGRESS_STEPS) if status in statuses)
    finished = status in (S.RESOLVED, S.CLOSED)
    steps = []
    for i, (label, _statuses) in enumerate(PROGRESS_STEPS):
        if i < current or finished:
            state = "done"
        elif i == current:
            state = "current"
        else:
            state = "todo"
        steps.append(ProgressStep(label=label, state=state))
    return steps


def next_step_for(status: str) -> NextStep:
    days = settings.TICKET_REOPEN_WINDOW_DAYS
    if status in (S.NEW, S.TRIAGED):
        return NextStep(_("We have received your report"),
                        _("A service agent will look at it and contact you shortly. You can add details "
                          "or photos below at any time."), False)
    if status == S.IN_PROGRESS:
        return NextStep(_("We are working on it"),
                        _("A service agent is handling your ticket. We will tell you here and by SMS "
                          "when there is news."), False)
    if status == S.WAITING_MERCHANT:
        return NextStep(_("We need your reply"),
                        _("The service agent has asked you something. Please answer below so that we "
                          "can continue."), True)
    if status == S.ONSITE_SCHEDULED:
        return NextStep(_("A technician will visit"),
                        _("A technician will come to your shop. Please keep the terminal and a staff "
                          "member available."), False)
    if status == S.ONSITE_IN_PROGRESS:
        return NextStep(_("The technician is repairing"),
                        _("The technician is working on your terminal now."), False)
    if status == S.PENDING_ACCEPTANCE:
        return NextStep(_("Please confirm the repair"),
                        _("The repair is done. Please make a test payment: if it works, confirm the "
                          "repair; if not, tell us it is not fixed."), True)
    if status == S.RESOLVED:
        return NextStep(_("Resolved"),
                        _("If the problem comes back within %(days)d days, you can reopen this ticket.")
                        % {"days": days}, False)
    if status == S.CLOSED:
        return NextStep(_("Closed"),
                        _("This ticket is closed. If the problem comes back within %(days)d days of the "
                          "repair you can reopen it; otherwise please report a new fault.")
                        % {"days": days}, False)
    return NextStep(_("Cancelled"),
                    _("This ticket was cancelled. If you still need help, please report a new fault."),
                    False)
