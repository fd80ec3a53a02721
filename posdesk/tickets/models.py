from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from posdesk.core.taxonomy import OPEN_STATUSES, Category, Channel, Priority, Status


class Ticket(models.Model):
    number = models.CharField(_("ticket number"), max_length=20, unique=True)
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), null=True, blank=True,
        db_index=False, on_delete=models.PROTECT, related_name="tickets",
    )
    terminal = models.ForeignKey(
        "terminals.Terminal", verbose_name=_("terminal"), null=True, blank=True,
        db_index=False, on_delete=models.PROTECT, related_name="tickets",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    subject = models.CharField(_("subject"), max_length=120)
    description = models.TextField(_("description"))
    # Copied from the merchant when the ticket opens: the queue filters by it on every page.
    district = models.ForeignKey(
        "merchants.District", null=True, blank=True, db_index=False, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team", verbose_name=_("team"), null=True, blank=True, db_index=False, on_delete=models.SET_NULL,
        related_name="tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
        db_index=False, on_delete=models.SET_NULL, related_name="assigned_tickets",
    )
    vendor = models.ForeignKey(
        "accounts.Organisation", verbose_name=_("vendor"), null=True, blank=True,
        db_index=False, on_delete=models.PROTECT, related_name="vendor_tickets",
    )
    # no index: nothing reads tickets by who typed them in or by their policy, and every index is
    # written by every create; deleting a user or a policy (rare, by an admin) scans the table once
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, db_index=False, on_delete=models.SET_NULL, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, db_index=False, on_delete=models.PROTECT, related_name="merged_tickets"
    )
    reopen_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # --- service standard (C2): deadlines are computed on writes and stored, never in a list ---
    sla_policy = models.ForeignKey(
        "slas.SlaPolicy", verbose_name=_("SLA policy"), null=True, blank=True, db_index=False,
        on_delete=models.SET_NULL, related_name="+",
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    onsite_requested_at = models.DateTimeField(null=True, blank=True)
    onsite_due_at = models.DateTimeField(_("on-site arrival due"), null=True, blank=True)
    onsite_arrived_at = models.DateTimeField(null=True, blank=True)
    # The clocks stop while the ticket waits on the merchant; the business time spent so is added
    # back to every deadline when they run again.
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(default=0)
    # The nearest running deadline and the moment it becomes at risk: the queue's countdown, colour
    # and sort read these; null while no clock runs.
    sla_due_at = models.DateTimeField(_("next deadline"), null=True, blank=True)
    sla_risk_at = models.DateTimeField(null=True, blank=True)
    # When the escalation sweep must look at this ticket next, and the escalations done (bits of
    # slas.clocks.Stage), so each fires once however often the sweep runs.
    sla_next_check_at = models.DateTimeField(null=True, blank=True)
    sla_stages = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        # Every index is written by every create (measured: 66 WAL pages per create on SQLite before
        # the foreign keys' own indexes went, which the composite indexes below already lead with);
        # add one only for a query that needs it.
        indexes = [
            # the queue: newest first, filtered by the common filters
            models.Index(fields=["status", "-created_at", "-id"], name="ticket_status_created_idx"),
            models.Index(fields=["priority", "-created_at", "-id"], name="ticket_priority_created_idx"),
            models.Index(fields=["category", "-created_at", "-id"], name="ticket_category_created_idx"),
            models.Index(fields=["channel", "-created_at", "-id"], name="ticket_channel_created_idx"),
            # A filter on one owner or place: (x, status, created_at) counts and pages the open
            # queue from the index; (x, created_at, id) pages every status newest first. A new
            # ticket has no team, person or vendor yet: those indexes hold only the tickets that
            # have one, so a create writes none of them ("= x" implies "is not null" to both
            # planners; the unassigned are found by ticket_unassigned_due_idx and the newest first).
            models.Index(fields=["team", "status", "-created_at"], name="ticket_team_idx",
                         condition=models.Q(team__isnull=False)),
            models.Index(fields=["vendor", "status", "-created_at"], name="ticket_vendor_idx",
                         condition=models.Q(vendor__isnull=False)),
            models.Index(fields=["assignee", "status", "-created_at"], name="ticket_assignee_idx",
                         condition=models.Q(assignee__isnull=False)),
            models.Index(fields=["assignee", "-created_at", "-id"], name="ticket_assignee_created_idx",
                         condition=models.Q(assignee__isnull=False)),
            # an agent's own open tickets, newest first (the console's "mine"): read from the
            # index above, PostgreSQL walked the newest tickets of all (estimating the agent's
            # evenly spread over time) past 102,000 unassigned new reports (37 ms, here 0.07)
            models.Index(fields=["assignee", "-created_at", "-id"], name="ticket_assignee_open_idx",
                         condition=models.Q(assignee__isnull=False, status__in=sorted(OPEN_STATUSES))),
            # priority trails so that district + status + priority (the dispatcher's "new P1s in
            # my district") is counted from the index alone: 7.8 → 0.4 ms at 1,000,000 tickets
            models.Index(fields=["district", "status", "-created_at", "priority"], name="ticket_district_idx"),
            models.Index(fields=["district", "-created_at", "-id"], name="ticket_district_created_idx"),
            models.Index(fields=["merchant", "-created_at", "-id"], name="ticket_merchant_created_idx"),
            models.Index(fields=["terminal", "-created_at", "-id"], name="ticket_terminal_created_idx"),
            models.Index(fields=["-created_at", "-id"], name="ticket_created_idx"),
            models.Index(fields=["-updated_at", "-id"], name="ticket_updated_idx"),
            # the queue-wait estimate counts the first answers of the last hour
            models.Index(fields=["first_response_at"], name="ticket_first_response_idx",
                         condition=models.Q(first_response_at__isnull=False)),
            # the escalation sweep reads only what is due, never the whole table
            models.Index(fields=["sla_next_check_at", "id"], name="ticket_sla_next_check_idx",
                         condition=models.Q(sla_next_check_at__isnull=False)),
            # the queue's "most urgent first": only tickets whose clock runs
            models.Index(fields=["sla_due_at", "id"], name="ticket_due_idx",
                         condition=models.Q(sla_due_at__isnull=False)),
            # the tickets merged into this one (few tickets are merged: the rest are not indexed)
            models.Index(fields=["merged_into"], name="ticket_merged_into_idx",
                         condition=models.Q(merged_into__isnull=False)),
            # "take next" and the team queue: open unassigned tickets, most urgent first
            models.Index(fields=["team", "sla_due_at", "id"], name="ticket_unassigned_due_idx",
                         condition=models.Q(assignee__isnull=True, status__in=sorted(OPEN_STATUSES))),
        ]

    def __str__(self) -> str:
        return self.number


class TicketEvent(models.Model):
    """The ticket's timeline. Public events are shown to the merchant; notes never are."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Reported")
        REPLY = "reply", _("Reply")
        NOTE = "note", _("Internal note")
        STATUS_CHANGED = "status_changed", _("Status changed")
        ASSIGNED = "assigned", _("Assigned")
        ATTACHMENT = "attachment", _("Attachment")
        MERGED = "merged", _("Merged")
        FIELDS_CHANGED = "fields_changed", _("Details changed")
        ESCALATED = "escalated", _("Escalated")

    ticket = models.ForeignKey(Ticket, db_index=False, on_delete=models.CASCADE, related_name="events")  # timeline idx
    kind = models.CharField(max_length=20, choices=Kind.choices)
    is_public = models.BooleanField(default=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(blank=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="ticket_event_timeline_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id}"


def attachment_path(instance: TicketAttachment, filename: str) -> str:
    return f"tickets/{instance.ticket_id}/{instance.sha256[:16]}-{filename[-80:]}"


class TicketAttachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        TicketEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    is_public = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.original_name


class TicketNumberSequence(models.Model):
    """One counter per day (Asia/Shanghai) for readable ticket numbers: T2611220042."""

    day = models.CharField(max_length=6, primary_key=True)  # YYMMDD
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.last_value}"
