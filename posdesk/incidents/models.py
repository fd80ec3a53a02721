"""Mass-outage incidents (C7): the incident, the tickets linked to it, its timeline, and the
detector's state — per-minute counts per key, hourly roll-ups, and the baselines built from them.

The detector's state lives in the database, not in a worker's memory: tickets are observed by
whichever Celery worker runs the intake job, on any machine, so only a shared counter sees the
whole stream; an atomic upsert keeps the count exact when workers count at once, and nothing is
lost when a worker restarts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Incident(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        OPEN = "open", _("Open")
        MONITORING = "monitoring", _("Monitoring")
        RESOLVED = "resolved", _("Resolved")
        DISMISSED = "dismissed", _("Dismissed")

    class Resolution(models.TextChoices):
        RESOLVE = "resolve", _("Resolve its tickets")
        CONFIRM = "confirm", _("Ask merchants to confirm")
        RELEASE = "release", _("Release its tickets to the queue")

    number = models.CharField(_("incident number"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=200)
    # the detector key the incident was opened for (detector.py), and its dimensions in words
    scope_key = models.CharField(max_length=120)
    scope_kind = models.CharField(max_length=30)
    scope = models.JSONField(default=dict)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    eta = models.DateTimeField(_("expected recovery"), null=True, blank=True)
    opened_automatically = models.BooleanField(default=False)
    # what the detector saw: the count in the window and the threshold it crossed
    spike_count = models.PositiveIntegerField(default=0)
    spike_window_minutes = models.PositiveSmallIntegerField(default=0)
    spike_threshold = models.FloatField(default=0)
    baseline_per_hour = models.FloatField(default=0)
    detected_at = models.DateTimeField(_("detected"))
    first_report_at = models.DateTimeField(_("first report"), null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            # two workers seeing one spike at once open one incident, not two
            models.UniqueConstraint(fields=["scope_key"], name="incident_one_active_per_scope",
                                    condition=models.Q(status__in=["proposed", "open", "monitoring"])),
        ]
        indexes = [models.Index(fields=["status", "-detected_at"], name="incident_status_idx"),
                   models.Index(fields=["-detected_at", "-id"], name="incident_detected_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset({Incident.Status.PROPOSED, Incident.Status.OPEN, Incident.Status.MONITORING})
CONFIRMED_STATUSES = frozenset({Incident.Status.OPEN, Incident.Status.MONITORING})


class IncidentTicket(models.Model):
    """A ticket linked to an incident (at most one). `notified_at`: when its reporter was told the
    incident's status; `released_at`: when the incident gave it back to the queue."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links")
    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="incident_link")
    merchant = models.ForeignKey("merchants.Merchant", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    ticket_created_at = models.DateTimeField()
    linked_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["incident", "ticket_created_at"], name="incident_ticket_idx"),
                   models.Index(fields=["merchant", "incident"], name="incident_ticket_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.incident_id} ← {self.ticket_id}"


class IncidentEvent(models.Model):
    """The incident's timeline. Public updates are what merchants are told; notes never are."""

    class Kind(models.TextChoices):
        DETECTED = "detected", _("Detected")
        STATUS_CHANGED = "status_changed", _("Status changed")
        UPDATE = "update", _("Public update")
        NOTE = "note", _("Internal note")
        ETA = "eta", _("Expected recovery set")
        RESOLVED = "resolved", _("Resolved")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    is_public = models.BooleanField(default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    body = models.TextField(blank=True)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # a broadcast update: asked for, then done (merchants asked for / messages allowed or deferred)
    broadcast = models.BooleanField(default=False)
    broadcast_done_at = models.DateTimeField(null=True, blank=True)
    broadcast_merchants = models.PositiveIntegerField(default=0)
    broadcast_sent = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["incident", "created_at", "id"], name="incident_event_timeline_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on incident {self.incident_id}"


# --- the detector's state -------------------------------------------------------------------------

class DetectorCount(models.Model):
    """New tickets per detector key per minute (minutes since the epoch, UTC). A key `x:<key>`
    counts the tickets of <key> linked to an incident, which the detector subtracts as explained."""

    key = models.CharField(max_length=120)
    minute = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "minute"], name="detector_count_key_minute")]
        indexes = [models.Index(fields=["minute"], name="detector_count_minute_idx")]

    def __str__(self) -> str:
        return f"{self.key}@{self.minute}: {self.count}"


class DetectorHourCount(models.Model):
    """The minute counts rolled up per hour (hours since the epoch) and kept for the baselines."""

    key = models.CharField(max_length=120)
    hour = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "hour"], name="detector_hour_key_hour")]
        indexes = [models.Index(fields=["hour"], name="detector_hour_hour_idx")]

    def __str__(self) -> str:
        return f"{self.key}@{self.hour}h: {self.count}"


class DetectorBaseline(models.Model):
    """A key's usual tickets per hour at one hour of the week (0 = Monday 00:00 Asia/Shanghai)."""

    key = models.CharField(max_length=120)
    hour_of_week = models.PositiveSmallIntegerField()
    per_hour = models.FloatField()
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "hour_of_week"], name="detector_baseline_key_how")]

    def __str__(self) -> str:
        return f"{self.key}@{self.hour_of_week}: {self.per_hour:.2f}/h"


class DetectorSignal(models.Model):
    """The keys of each recently observed ticket (kept an hour): the detector counts a ticket once
    however often it is observed, and links the tickets that made a spike to its incident."""

    ticket = models.OneToOneField("tickets.Ticket", primary_key=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    keys = models.CharField(max_length=800)  # "|k1|k2|…|" so a key is found with one LIKE

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="detector_signal_created_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.keys}"
