"""Routing data: what each team is good at and who of the desk is present with how much room.

The rules that read these are in `assignment.py` (pure); the tickets are given out by
`posdesk.tickets.routing`."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from posdesk.routing import assignment

MIN_CAPACITY = 1
MAX_CAPACITY = 200


def default_languages() -> list[str]:
    return [settings.LANGUAGE_CODE]


class TeamSkills(models.Model):
    """A team's skills. Every list left empty means "any"; a team without an active row takes no
    automatically routed tickets (people may still give it work by hand)."""

    class Strategy(models.TextChoices):
        LEAST_LOADED = assignment.LEAST_LOADED, _("Least loaded first")
        ROUND_ROBIN = assignment.ROUND_ROBIN, _("Round robin")

    team = models.OneToOneField(
        "accounts.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="skills"
    )
    categories = models.JSONField(
        _("categories"),
        default=list,
        blank=True,
        help_text=_("Category codes this team handles; empty: any category."),
    )
    terminal_models = models.ManyToManyField(
        "terminals.TerminalModel",
        verbose_name=_("terminal models"),
        blank=True,
        related_name="team_skills",
        help_text=_("Empty: any terminal model."),
    )
    districts = models.ManyToManyField(
        "merchants.District",
        verbose_name=_("districts"),
        blank=True,
        related_name="team_skills",
        help_text=_("Empty: any district."),
    )
    languages = models.JSONField(
        _("languages"),
        default=list,
        blank=True,
        help_text=_("Language codes such as zh-hans or en; empty: any language."),
    )
    strategy = models.CharField(
        _("assignment strategy"), max_length=20, choices=Strategy.choices, default=Strategy.LEAST_LOADED
    )
    is_active = models.BooleanField(_("routes tickets"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("team skills")
        verbose_name_plural = _("team skills")

    def __str__(self) -> str:
        return str(self.team)


class AgentStatus(models.Model):
    """An agent's presence and how many open tickets they may hold. Every automatic assignment
    locks the receiving agent's row first, so two workers cannot both fill the last free place."""

    class Presence(models.TextChoices):
        ONLINE = "online", _("Online")
        AWAY = "away", _("Away")
        OFFLINE = "offline", _("Offline")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="agent_status",
    )
    presence = models.CharField(
        _("presence"), max_length=10, choices=Presence.choices, default=Presence.OFFLINE
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity"),
        default=10,
        validators=[MinValueValidator(MIN_CAPACITY), MaxValueValidator(MAX_CAPACITY)],
        help_text=_("The most open tickets routing gives this agent."),
    )
    languages = models.JSONField(
        _("languages"),
        default=default_languages,
        blank=True,
        help_text=_("Languages the agent serves in; empty: any language."),
    )
    # when routing last gave this agent a ticket: round-robin turns by it, least-loaded breaks ties
    last_assigned_at = models.DateTimeField(_("last given a ticket"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("agent status")
        verbose_name_plural = _("agent statuses")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(capacity__gte=MIN_CAPACITY, capacity__lte=MAX_CAPACITY),
                name="agent_status_capacity_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.presence})"
