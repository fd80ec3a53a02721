"""Service standards (C2): working-day calendars, working hours and SLA policies.

The arithmetic is in `business_time.py` (pure); the clocks on tickets live with the tickets."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from posdesk.core.taxonomy import Category, Channel, Priority
from posdesk.merchants.models import Merchant
from posdesk.slas.business_time import CalendarError, WorkingHours

STANDARD_HOURS = "09:00-12:00,13:00-18:00"


def validate_working_hours(value: str) -> None:
    try:
        WorkingHours.parse(value)
    except CalendarError as exc:
        raise ValidationError(
            _("Working hours look like 09:00-12:00,13:00-18:00 (ordered, within one day)."),
            code="invalid_working_hours",
        ) from exc


class BusinessCalendar(models.Model):
    """Working hours on the China working-day calendar, or around the clock (24×7)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    around_the_clock = models.BooleanField(
        _("24×7"), default=False, help_text=_("Every hour of every day, holidays included (P1).")
    )
    working_hours = models.CharField(
        _("working hours"), max_length=120, default=STANDARD_HOURS, validators=[validate_working_hours],
        help_text=_("Local time (Asia/Shanghai), e.g. 09:00-12:00,13:00-18:00 for a lunch break."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class HolidayEntry(models.Model):
    """An admin's entry in the national working-day calendar: a holiday, or an adjusted working day
    (调休). Entries win over the `chinesecalendar` package; a year with entries counts as known, so
    a year the package does not cover yet (the State Council publishes it in November) is entered
    or imported here."""

    day = models.DateField(_("day"), unique=True)
    is_workday = models.BooleanField(
        _("working day"), help_text=_("On: an adjusted working day (调休). Off: a holiday.")
    )
    name = models.CharField(_("name"), max_length=60, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("holiday calendar entry")
        verbose_name_plural = _("holiday calendar entries")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'workday' if self.is_workday else 'holiday'} {self.name}".strip()


class TeamCalendar(models.Model):
    """A team's working hours. Teams without one work on the default calendar."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="calendar_link")
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("team working hours")
        verbose_name_plural = _("team working hours")

    def __str__(self) -> str:
        return f"{self.team_id}: {self.calendar}"


class SlaPolicy(models.Model):
    """Targets for one kind of ticket. A policy matches on priority, merchant tier, category and
    channel, each optional ("any"); the most specific active match wins (ties: the lower order)."""

    name = models.CharField(_("name"), max_length=80)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices, blank=True)
    merchant_tier = models.CharField(_("merchant tier"), max_length=12, choices=Merchant.Tier.choices, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response (business minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution (business minutes)"))
    onsite_minutes = models.PositiveIntegerField(
        _("on-site arrival (business minutes)"), null=True, blank=True,
        help_text=_("From the moment a visit is scheduled; empty: no on-site target."),
    )
    calendar = models.ForeignKey(
        BusinessCalendar, verbose_name=_("calendar"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="policies", help_text=_("Empty: the working hours of the ticket's team."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        return sum(bool(value) for value in (self.priority, self.merchant_tier, self.category, self.channel))


class EscalationRule(models.Model):
    """What happens when a ticket's clock is at risk or breached. Rules run in `order`; each fires
    once per ticket, clock and trigger."""

    class Clock(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        RESOLUTION = "resolution", _("Resolution")
        ONSITE = "onsite", _("On-site arrival")

    class Trigger(models.TextChoices):
        AT_RISK = "at_risk", _("At risk")
        BREACHED = "breached", _("Breached")

    class Action(models.TextChoices):
        NOTIFY_ASSIGNEE = "notify_assignee", _("Notify the assignee")
        NOTIFY_SUPERVISOR = "notify_supervisor", _("Notify the team supervisor")
        RAISE_PRIORITY = "raise_priority", _("Raise the priority one step")
        REASSIGN = "reassign", _("Reassign to another available agent")

    name = models.CharField(_("name"), max_length=80)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    clock = models.CharField(_("clock"), max_length=20, choices=Clock.choices)
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices)
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices, blank=True,
                                help_text=_("Empty: every priority."))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("escalation rule")
        verbose_name_plural = _("escalation rules")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name
