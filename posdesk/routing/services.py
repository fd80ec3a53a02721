"""Writes of routing data: an agent's presence and capacity, a team's skills.

These change routing data only. Routing sits below tickets and knows nothing of them, so what
must follow a change — "someone came online or got room: give them the waiting tickets" — is the
tickets layer's job: adapters call `posdesk.tickets.routing.agent_presence_change` /
`agent_capacity_change`, which call these services and, in the same transaction, schedule
`tickets_assign_waiting` for after the commit. A service here never triggers ticket work itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import Role, Team, User
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.core.errors import PermissionDenied, ValidationFailed, field_error
from posdesk.core.taxonomy import Category
from posdesk.merchants.models import District
from posdesk.routing.models import MAX_CAPACITY, MIN_CAPACITY, AgentStatus, TeamSkills
from posdesk.routing.selectors import ROUTABLE_ROLES
from posdesk.terminals.models import TerminalModel

# who may change other people's routing settings and the teams' skills
_MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


def _language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def _check_routable(user: User) -> None:
    if user.role not in ROUTABLE_ROLES or not user.is_active:
        raise ValidationFailed(
            _("Only active agents and supervisors take routed tickets."),
            code="not_an_agent",
            detail={"field": "user"},
        )


def _check_languages(languages: Iterable[str], field: str) -> list[str]:
    chosen = sorted(set(languages))
    unknown = sorted(set(chosen) - _language_codes())
    if unknown:
        raise ValidationFailed(
            _("Unknown language."), code="invalid_language", detail={"field": field, "values": unknown}
        )
    return chosen


def agent_status_lock(*, user: User) -> AgentStatus:
    """The agent's status row — created with the defaults if missing — locked until the surrounding
    transaction ends. Every automatic assignment takes this lock before touching tickets, so the
    lock order is always agent status → ticket. Call inside `transaction.atomic`."""
    status = AgentStatus.objects.select_for_update().filter(user=user).first()
    if status is None:
        AgentStatus.objects.get_or_create(user=user)  # a racing create is absorbed by get_or_create
        status = AgentStatus.objects.select_for_update().get(user=user)
    return status


def _status_change(*, user: User, actor: User, field: str, value: Any, summary: str,
                   normalize: Callable[[Any], Any] = lambda current: current) -> AgentStatus:
    """Lock the agent's status row, set one field, and audit the change (only when it changes)."""
    status = agent_status_lock(user=user)
    before = normalize(getattr(status, field))
    if before != value:
        setattr(status, field, value)
        status.save(update_fields=[field, "updated_at"])
        audit_record(actor=actor, action=AuditEntry.Action.UPDATE, target=status, summary=summary,
                     changes={field: [before, value]})
    return status


@transaction.atomic
def agent_presence_set(*, user: User, presence: str, actor: User) -> AgentStatus:
    """Set whether `user` is online, away or offline. People set their own; supervisors and
    admins may set anyone's (e.g. someone who left without signing out)."""
    if actor.pk != user.pk and actor.role not in _MANAGERS:
        raise PermissionDenied(code="presence_not_allowed")
    if presence not in AgentStatus.Presence.values:
        raise field_error("presence", _("Unknown presence."), code="invalid_presence")
    _check_routable(user)
    return _status_change(user=user, actor=actor, field="presence", value=presence,
                          summary=f"{user.username}: {presence}")


@transaction.atomic
def agent_capacity_set(*, user: User, capacity: int, actor: User) -> AgentStatus:
    """Set the most open tickets routing gives `user` (1–200); a supervisor's or admin's call.
    Lowering it below the current load takes nothing away: the agent just gets nothing new."""
    if actor.role not in _MANAGERS:
        raise PermissionDenied(code="capacity_not_allowed")
    if (
        isinstance(capacity, bool)
        or not isinstance(capacity, int)
        or not MIN_CAPACITY <= capacity <= MAX_CAPACITY
    ):
        raise field_error(
            "capacity",
            _("Capacity is a whole number from %(min)d to %(max)d.")
            % {"min": MIN_CAPACITY, "max": MAX_CAPACITY},
            code="invalid_capacity",
        )
    _check_routable(user)
    return _status_change(user=user, actor=actor, field="capacity", value=capacity,
                          summary=f"{user.username}: capacity {capacity}")


@transaction.atomic
def agent_languages_set(*, user: User, languages: Iterable[str], actor: User) -> AgentStatus:
    """Set the languages `user` serves in (empty: any)."""
    if actor.pk != user.pk and actor.role not in _MANAGERS:
        raise PermissionDenied(code="languages_not_allowed")
    chosen = _check_languages(languages, "languages")
    _check_routable(user)
    return _status_change(user=user, actor=actor, field="languages", value=chosen,
                          summary=f"{user.username}: languages",
                          normalize=lambda current: sorted(current or []))


@transaction.atomic
def team_skills_set(
    *,
    team: Team,
    categories: Iterable[str],
    terminal_models: Iterable[TerminalModel],
    districts: Iterable[District],
    languages: Iterable[str],
    strategy: str,
    actor: User,
    is_active: bool = True,
) -> TeamSkills:
    """Replace what `team` handles. Each empty list means "any"; see `assignment.py` for how the
    skills choose a team and the strategy chooses a person."""
    if actor.role not in _MANAGERS:
        raise PermissionDenied(code="team_skills_not_allowed")
    chosen_categories = sorted(set(categories))
    unknown = sorted(set(chosen_categories) - set(Category.values))
    if unknown:
        raise ValidationFailed(
            _("Unknown category."), code="invalid_category", detail={"field": "categories", "values": unknown}
        )
    chosen_languages = _check_languages(languages, "languages")
    if strategy not in TeamSkills.Strategy.values:
        raise field_error("strategy", _("Unknown assignment strategy."), code="invalid_strategy")
    model_ids = sorted({model.pk for model in terminal_models})
    district_ids = sorted({district.pk for district in districts})

    skills, created = TeamSkills.objects.select_for_update().get_or_create(team=team)
    before = {
        "categories": sorted(skills.categories or []),
        "terminal_models": [] if created else sorted(skills.terminal_models.values_list("pk", flat=True)),
        "districts": [] if created else sorted(skills.districts.values_list("pk", flat=True)),
        "languages": sorted(skills.languages or []),
        "strategy": skills.strategy,
        "is_active": skills.is_active,
    }
    after = {
        "categories": chosen_categories,
        "terminal_models": model_ids,
        "districts": district_ids,
        "languages": chosen_languages,
        "strategy": strategy,
        "is_active": is_active,
    }
    changes = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    if changes or created:
        skills.categories = chosen_categories
        skills.languages = chosen_languages
        skills.strategy = strategy
        skills.is_active = is_active
        skills.save(update_fields=["categories", "languages", "strategy", "is_active", "updated_at"])
        skills.terminal_models.set(model_ids)
        skills.districts.set(district_ids)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
            target=skills,
            summary=f"team skills: {team.code}",
            changes=changes,
        )
    return skills
