"""`posdesk demo`: the demo world (idempotent) and benchmark-sized ticket volumes.

The history is written directly with bulk inserts, not through the ticket services (they stamp
"now"), but it keeps what the services guarantee: numbers from `TicketNumberSequence`, the district
copied from the merchant, resolved/closed times that match the status, a first response where staff
replied, and legal transitions only (see `history.py`)."""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from posdesk.accounts.models import Organisation, Role, Team, User
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.core.taxonomy import Status
from posdesk.demo import catalogue as cat
from posdesk.demo.bulk import BulkTable, ticket_number, ticket_numbers_reserve
from posdesk.demo.fleet import MerchantPlan, TerminalPlan, plan_merchants, plan_terminals
from posdesk.demo.history import (
    HOUR_WEIGHTS,
    SHANGHAI,
    WEEKDAY_FACTORS,
    Cast,
    HistoryPlanner,
    PlannedTicket,
    Shop,
)
from posdesk.merchants.models import District, Merchant, MerchantContact
from posdesk.routing.models import AgentStatus, TeamSkills
from posdesk.slas.selectors import ServiceStandard, service_standard_for
from posdesk.terminals.models import Terminal, TerminalModel
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.tickets.sla import sla_backfill, sla_settle

DEMO_SEED = "posdesk-demo-2026"
DEFAULT_MERCHANTS = 300
DEFAULT_TERMINALS = 500
DEFAULT_HISTORY_DAYS = 90


@dataclass(frozen=True)
class DemoLogin:
    where: str
    username: str
    password: str
    role: str
    name: str


@dataclass
class DemoResult:
    created: dict[str, int] = field(default_factory=dict)
    history_skipped: bool = False


# --- the demo world ---------------------------------------------------------------------------

@transaction.atomic
def demo_load(
    *,
    merchants: int = DEFAULT_MERCHANTS,
    terminals: int = DEFAULT_TERMINALS,
    history_days: int = DEFAULT_HISTORY_DAYS,
    seed: str = DEMO_SEED,
    now: datetime | None = None,
) -> DemoResult:
    """Create what is missing of the demo world and return what was created. Records are matched
    by their natural keys (codes, usernames, MIDs, SNs); the ticket history is written once, in
    the same transaction, so a second run changes nothing."""
    now = now or timezone.now()
    created: Counter[str] = Counter()
    org, vendor = _organisations(created)
    people = _staff(org, vendor, created)
    teams = _teams(org, people, created)
    _routing(teams, people, created)
    models_by_code = _terminal_models(created)
    merchant_plans = plan_merchants(merchants, seed=seed)
    merchant_ids = _merchants(merchant_plans, created)
    terminal_plans = plan_terminals(merchant_plans, terminals, seed=seed, today=timezone.localdate(now))
    _terminals(terminal_plans, merchant_ids, models_by_code, created)
    result = DemoResult()
    demo_merchant_ids = list(merchant_ids.values())
    if Ticket.objects.filter(merchant_id__in=demo_merchant_ids).exists():
        result.history_skipped = True
    elif history_days > 0:
        _history(merchant_plans, merchant_ids, people, teams, vendor, seed=seed, now=now, days=history_days,
                 created=created)
    created = +created  # only what was actually created
    if created:
        audit_record(actor=None, action=AuditEntry.Action.CREATE, target=org, summary="demo data loaded",
                     changes=dict(created))
    result.created = dict(created)
    return result


def _organisations(created: Counter[str]) -> tuple[Organisation, Organisation]:
    org, new_org = Organisation.objects.get_or_create(
        code=cat.SERVICE_COMPANY[0],
        defaults={"name": cat.SERVICE_COMPANY[1], "kind": Organisation.Kind.SERVICE_COMPANY},
    )
    vendor, new_vendor = Organisation.objects.get_or_create(
        code=cat.FIELD_VENDOR[0], defaults={"name": cat.FIELD_VENDOR[1], "kind": Organisation.Kind.VENDOR}
    )
    created["organisations"] += int(new_org) + int(new_vendor)
    return org, vendor


def _staff(org: Organisation, vendor: Organisation, created: Counter[str]) -> dict[str, User]:
    existing = {u.username: u for u in User.objects.filter(username__in=[s.username for s in cat.STAFF])}
    password = None  # hashed once: Argon2 is slow on purpose
    for spec in cat.STAFF:
        if spec.username in existing:
            continue
        password = password or make_password(cat.DEMO_PASSWORD)
        user = User(
            username=spec.username, display_name=spec.display_name, role=spec.role, password=password,
            organisation=vendor if spec.vendor else org, is_staff=spec.role == Role.ADMIN,
            is_superuser=spec.role == Role.ADMIN,
        )
        user.save()
        existing[spec.username] = user
        created["staff users"] += 1
    return existing


def _teams(org: Organisation, people: dict[str, User], created: Counter[str]) -> dict[str, Team]:
    teams = {}
    for spec in cat.TEAMS:
        team, new = Team.objects.get_or_create(
            code=spec.code, defaults={"name": spec.name, "organisation": org, "supervisor": people.get(spec.supervisor)}
        )
        teams[spec.code] = team
        if new:
            created["teams"] += 1
            members = [people[s.username] for s in cat.STAFF if spec.code in s.teams and s.username in people]
            team.members.add(*members)
    return teams


ROUTING_SKILLS = {  # team → categories it takes (routing); field service is dispatched by hand
    "frontline": ["hardware", "transaction", "settlement", "fees", "account", "installation", "consultation"],
    "tech-support": ["software", "network"],
    "customer-care": ["service_complaint"],
}
ROUTING_PRESENCE = {"agent": "online", "agent2": "online", "agent3": "away", "agent5": "online"}


def _routing(teams: dict[str, Team], people: dict[str, User], created: Counter[str]) -> None:
    """Skills for the desk teams and a few agents online, so new demo tickets are routed."""
    for code, categories in ROUTING_SKILLS.items():
        if code in teams:
            _skills, new = TeamSkills.objects.get_or_create(team=teams[code], defaults={"categories": categories})
            created["team skills"] += new
    for username, user in people.items():
        if user.role == Role.AGENT:
            AgentStatus.objects.get_or_create(
                user=user, defaults={"presence": ROUTING_PRESENCE.get(username, "offline"), "capacity": 15})


def _terminal_models(created: Counter[str]) -> dict[str, TerminalModel]:
    by_code = {m.code: m for m in TerminalModel.objects.filter(code__in=[s.code for s in cat.TERMINAL_MODELS])}
    for spec in cat.TERMINAL_MODELS:
        if spec.code not in by_code:
            by_code[spec.code] = TerminalModel.objects.create(
                code=spec.code, manufacturer=spec.manufacturer, name=spec.name, kind=spec.kind,
                has_printer=spec.has_printer, supports_contactless=spec.supports_contactless,
            )
            created["terminal models"] += 1
    return by_code


def _merchants(plans: list[MerchantPlan], created: Counter[str]) -> dict[str, int]:
    """Create the planned merchants that do not exist yet, with their contacts and the portal
    users of contacts who have signed in before. Returns MID → id for all planned merchants."""
    existing = dict(Merchant.objects.filter(mid__in=[p.mid for p in plans]).values_list("mid", "pk"))
    missing = [p for p in plans if p.mid not in existing]
    if missing:
        districts = dict(District.objects.values_list("code", "pk"))
        Merchant.objects.bulk_create([
            Merchant(mid=p.mid, name=p.name, tier=p.tier, status=p.status, district_id=districts.get(p.district_code),
                     address=p.address, latitude=p.latitude, longitude=p.longitude)
            for p in missing
        ])
        existing = dict(Merchant.objects.filter(mid__in=[p.mid for p in plans]).values_list("mid", "pk"))
        portal_mobiles = [c.mobile for p in missing for c in p.contacts if c.portal_user]
        users = dict(User.objects.filter(mobile__in=portal_mobiles).values_list("mobile", "pk"))
        new_users = [
            User(username=f"m{c.mobile}", mobile=c.mobile, role=Role.MERCHANT, display_name=c.name,
                 password=make_password(None))
            for p in missing for c in p.contacts if c.portal_user and c.mobile not in users
        ]
        User.objects.bulk_create(new_users)
        users = dict(User.objects.filter(mobile__in=portal_mobiles).values_list("mobile", "pk"))
        contacts = [
            MerchantContact(merchant_id=existing[p.mid], name=c.name, mobile=c.mobile, email=c.email,
                            wechat_openid=c.wechat_openid, is_primary=c.is_primary,
                            user_id=users.get(c.mobile) if c.portal_user else None)
            for p in missing for c in p.contacts
        ]
        MerchantContact.objects.bulk_create(contacts)
        created["merchants"] += len(missing)
        created["merchant contacts"] += len(contacts)
        created["portal users"] += len(new_users)
    return existing


def _terminals(plans: list[TerminalPlan], merchant_ids: dict[str, int], models_by_code: dict[str, TerminalModel],
               created: Counter[str]) -> None:
    existing = set(Terminal.objects.filter(sn__in=[p.sn for p in plans]).values_list("sn", flat=True))
    taken_tids = set(Terminal.objects.filter(tid__in=[p.tid for p in plans]).values_list("tid", flat=True))
    missing = [p for p in plans if p.sn not in existing]
    Terminal.objects.bulk_create([
        Terminal(
            sn=p.sn, tid=p.tid if p.tid not in taken_tids else None, model=models_by_code[p.model_code],
            merchant_id=merchant_ids.get(p.merchant_mid) if p.merchant_mid else None, firmware=p.firmware,
            sim_iccid=p.sim_iccid, sim_carrier=p.sim_carrier, install_date=p.install_date,
            warranty_end=p.warranty_end, status=p.status,
        )
        for p in missing
    ])
    created["terminals"] += len(missing)


def _cast(people: dict[str, User], teams: dict[str, Team], vendor: Organisation) -> Cast:
    def ids(role: str, team: str | None = None) -> tuple[int, ...]:
        return tuple(
            people[s.username].pk for s in cat.STAFF
            if s.role == role and s.username in people and (team is None or team in s.teams)
        )

    return Cast(
        agents=ids(Role.AGENT, "frontline") or ids(Role.AGENT), tech_support=ids(Role.AGENT, "tech-support") or ids(Role.AGENT),
        technicians=ids(Role.TECHNICIAN), vendor_staff=ids(Role.VENDOR), supervisors=ids(Role.SUPERVISOR),
        names={u.pk: str(u) for u in people.values()}, teams={code: t.pk for code, t in teams.items()},
        team_names={t.pk: t.name for t in teams.values()}, vendor_id=vendor.pk, vendor_name=vendor.name,
    )


def _shops(merchant_ids: dict[str, int]) -> list[Shop]:
    """The active merchants with their in-service terminals and portal users, as the planners want them."""
    merchants = Merchant.objects.filter(pk__in=merchant_ids.values(), status=Merchant.Status.ACTIVE)
    terminals: dict[int, list[int]] = defaultdict(list)
    for terminal_id, merchant_id in Terminal.objects.filter(merchant__in=merchants).exclude(
        status=Terminal.Status.RETIRED
    ).order_by("pk").values_list("pk", "merchant_id"):
        terminals[merchant_id].append(terminal_id)
    users = dict(
        MerchantContact.objects.filter(merchant__in=merchants, is_primary=True, user__isnull=False)
        .values_list("merchant_id", "user_id")
    )
    weights = {"key": 2.5, "standard": 1.2, "small": 0.8}
    return [
        Shop(id=pk, district_id=district_id, terminal_ids=tuple(terminals[pk]), user_id=users.get(pk),
             weight=weights.get(tier, 1.0))
        for pk, district_id, tier in merchants.order_by("pk").values_list("pk", "district_id", "tier")
    ]


def _history(
    merchant_plans: list[MerchantPlan], merchant_ids: dict[str, int], people: dict[str, User],
    teams: dict[str, Team], vendor: Organisation, *, seed: str, now: datetime, days: int, created: Counter[str],
) -> None:
    shops = _shops(merchant_ids)
    showcase_id = merchant_ids.get(merchant_plans[0].mid) if merchant_plans else None
    planner = HistoryPlanner(
        shops=shops, cast=_cast(people, teams, vendor), now=now, days=days, seed=seed,
        showcase_shop_id=showcase_id, reopen_window_days=settings.TICKET_REOPEN_WINDOW_DAYS,
    )
    planned = sorted(planner.plan(), key=lambda t: t.created_at)
    numbers = _numbers_for([t.created_at for t in planned])
    tickets = Ticket.objects.bulk_create([_ticket_from(plan, number) for plan, number in zip(planned, numbers, strict=True)],
                                         batch_size=500)
    events = [
        TicketEvent(
            ticket_id=ticket.pk, kind=e.kind, is_public=e.is_public, actor_id=e.actor_id, body=e.body,
            from_status=e.from_status, to_status=e.to_status, reason=e.reason, data=e.data, created_at=e.at,
        )
        for ticket, plan in zip(tickets, planned, strict=True) for e in plan.events
    ]
    TicketEvent.objects.bulk_create(events, batch_size=1000)
    sla_backfill(now=now)  # deadlines as the services would have set them; past escalations count as done
    created["tickets"] += len(tickets)
    created["ticket events"] += len(events)


def _ticket_from(plan: PlannedTicket, number: str) -> Ticket:
    return Ticket(
        number=number, merchant_id=plan.merchant_id, terminal_id=plan.terminal_id, channel=plan.channel,
        category=plan.category, priority=plan.priority, status=plan.status, subject=plan.subject,
        description=plan.description, district_id=plan.district_id, team_id=plan.team_id,
        assignee_id=plan.assignee_id, vendor_id=plan.vendor_id, created_by_id=plan.created_by_id,
        reopen_count=plan.reopen_count, created_at=plan.created_at, updated_at=plan.updated_at,
        first_response_at=plan.first_response_at, resolved_at=plan.resolved_at, closed_at=plan.closed_at,
    )


def _day(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%y%m%d")


def _numbers_for(times: list[datetime]) -> list[str]:
    """Ticket numbers for tickets created at `times` (sorted), reserved from the day sequences."""
    per_day = Counter(_day(t) for t in times)
    next_value = {day: ticket_numbers_reserve(day=day, count=count) for day, count in sorted(per_day.items())}
    numbers = []
    for at in times:
        day = _day(at)
        numbers.append(ticket_number(day, next_value[day]))
        next_value[day] += 1
    return numbers


# --- who can sign in ----------------------------------------------------------------------------

def demo_logins() -> list[DemoLogin]:
    """The demo accounts that exist, for the command to print."""
    users = {u.username: u for u in User.objects.filter(username__in=[s.username for s in cat.STAFF])}
    logins = [
        DemoLogin(where="console", username=s.username, password=cat.DEMO_PASSWORD, role=s.role,
                  name=str(users[s.username]))
        for s in cat.STAFF if s.username in users
    ]
    showcase = MerchantContact.objects.filter(mobile=cat.SHOWCASE_MOBILE).select_related("merchant").first()
    if showcase is not None:
        logins.append(DemoLogin(where="portal", username=showcase.mobile, password="", role=Role.MERCHANT,
                                name=f"{showcase.name} · {showcase.merchant.name}"))
    return logins


# --- benchmark volumes -----------------------------------------------------------------------------

@dataclass
class BulkResult:
    created: int
    total: int
    seconds: float


# How a bulk ticket ended up, by age: old ones are closed, the last days hold the open work.
_OPEN_SHARE_BY_AGE = [(2, 0.95), (7, 0.5), (30, 0.1), (10_000, 0.04)]  # (younger than days, share open)
SLA_COLUMNS = ("sla_policy_id", "first_response_due_at", "resolution_due_at", "onsite_requested_at",
               "onsite_due_at", "sla_paused_at", "sla_due_at", "sla_risk_at", "sla_next_check_at", "sla_stages")
_OPEN_MIX = [
    (Status.NEW, 20), (Status.TRIAGED, 12), (Status.IN_PROGRESS, 28), (Status.WAITING_MERCHANT, 12),
    (Status.ONSITE_SCHEDULED, 10), (Status.ONSITE_IN_PROGRESS, 5), (Status.PENDING_ACCEPTANCE, 13),
]
_ONSITE = {Status.ONSITE_SCHEDULED, Status.ONSITE_IN_PROGRESS, Status.PENDING_ACCEPTANCE}
_PREVIOUS_STATUS = {
    Status.TRIAGED: Status.NEW, Status.IN_PROGRESS: Status.NEW, Status.WAITING_MERCHANT: Status.IN_PROGRESS,
    Status.ONSITE_SCHEDULED: Status.IN_PROGRESS, Status.ONSITE_IN_PROGRESS: Status.ONSITE_SCHEDULED,
    Status.PENDING_ACCEPTANCE: Status.ONSITE_IN_PROGRESS, Status.RESOLVED: Status.IN_PROGRESS,
    Status.CLOSED: Status.RESOLVED, Status.CANCELLED: Status.NEW,
}


def demo_tickets_bulk(
    *,
    target: int,
    batch_size: int = 20_000,
    days: int = DEFAULT_HISTORY_DAYS,
    seed: str = DEMO_SEED,
    now: datetime | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> BulkResult:
    """Top the ticket table up to `target` tickets spread over the last `days` days, across the
    demo merchants and terminals, in committed batches (each with a `created` event per ticket and
    a status event where the ticket has moved on). Does nothing when there are already `target`.

    Meant for an otherwise idle database (benchmarks): it takes primary keys in blocks."""
    started = time.perf_counter()
    existing = Ticket.objects.count()
    if existing >= target:
        return BulkResult(created=0, total=existing, seconds=0.0)
    need = target - existing
    now = now or timezone.now()
    if connection.vendor == "sqlite":
        # a big page cache keeps the ticket indexes in memory while they grow (this connection only)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")  # KiB: 256 MiB
    elif connection.vendor == "postgresql":
        # batches need not wait for the disk one by one; a crash loses at most the last batches
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
    builder = _BulkTickets(seed=f"{seed}:bulk:{existing}", now=now)
    done = 0
    try:
        for day, count in _spread_over_days(need, days=days, now=now):
            first = ticket_numbers_reserve(day=day.strftime("%y%m%d"), count=count)
            for offset, created_at in enumerate(builder.times_on(day, count)):
                builder.add(created_at, ticket_number(day.strftime("%y%m%d"), first + offset))
                if len(builder.pending) >= batch_size:
                    done += builder.flush()
                    if progress:
                        progress(done, need, time.perf_counter() - started)
        done += builder.flush()
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
    if progress:
        progress(done, need, time.perf_counter() - started)
    _analyze()
    return BulkResult(created=done, total=existing + done, seconds=time.perf_counter() - started)


def _spread_over_days(total: int, *, days: int, now: datetime) -> list[tuple[date, int]]:
    """`total` split over the last `days` days (Asia/Shanghai) by weekday, today only so far."""
    today = now.astimezone(SHANGHAI)
    day_list = [today.date() - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    elapsed_today = (today.hour * 3600 + today.minute * 60 + today.second) / 86400
    weights = [WEEKDAY_FACTORS[d.weekday()] * (elapsed_today if d == today.date() else 1.0) for d in day_list]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    remainders = sorted(range(len(day_list)), key=lambda i: weights[i] * scale - counts[i], reverse=True)
    for i in remainders[: total - sum(counts)]:
        counts[i] += 1
    return [(d, c) for d, c in zip(day_list, counts, strict=True) if c]


class _BulkTickets:
    """Builds ticket and event rows fast, and writes them a batch at a time."""

    def __init__(self, *, seed: str, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.tickets = BulkTable(Ticket)
        self.events = BulkTable(TicketEvent)
        self.pending: list[list] = []
        self.moments: list[tuple[datetime, bool]] = []  # per pending row: last change, closed by the job
        self.shops = _shops(dict(Merchant.objects.values_list("mid", "pk")))
        if not self.shops:
            raise RuntimeError("no active merchants: run `posdesk demo` first")
        self.shop_cum = list(accumulate(s.weight for s in self.shops))
        staff = User.objects.filter(is_active=True).order_by("pk")
        self.agents = list(staff.filter(role=Role.AGENT).values_list("pk", flat=True)) or [None]
        self.technicians = list(staff.filter(role=Role.TECHNICIAN).values_list("pk", flat=True)) or self.agents
        vendor = Organisation.objects.filter(code=cat.FIELD_VENDOR[0]).first()
        self.vendor_id = vendor.pk if vendor else None
        self.vendor_staff = list(staff.filter(role=Role.VENDOR, organisation=vendor).values_list("pk", flat=True))
        teams = dict(Team.objects.values_list("code", "pk"))
        self.team_for = {c: teams.get("frontline") for c in cat.CATEGORY_SHARES}
        self.team_for.update(software=teams.get("tech-support"), network=teams.get("tech-support"),
                             service_complaint=teams.get("customer-care"))
        self.field_team = teams.get("field-service")
        categories = list(cat.CATEGORY_SHARES)
        self.categories = categories
        self.category_cum = list(accumulate(cat.CATEGORY_SHARES[c] for c in categories))
        by_category: dict[str, list[cat.Report]] = defaultdict(list)
        for report in cat.REPORTS:
            by_category[report.category].append(report)
        self.reports = by_category
        self.channels = list(cat.CHANNEL_SHARES)
        self.channel_cum = list(accumulate(cat.CHANNEL_SHARES.values()))
        self.channel_data = {c: json.dumps({"channel": c}) for c in self.channels}
        self.open_statuses = [s for s, _ in _OPEN_MIX]
        self.open_cum = list(accumulate(w for _, w in _OPEN_MIX))
        self.hour_cum = list(accumulate(HOUR_WEIGHTS))
        p = self.tickets.position
        self.col = {name: p[name] for name in (
            "id", "number", "merchant_id", "terminal_id", "channel", "category", "priority", "status", "subject",
            "description", "district_id", "team_id", "assignee_id", "vendor_id", "created_by_id",
            "created_at", "updated_at", "resolved_at", "closed_at", "first_response_at", *SLA_COLUMNS,
        )}
        self.tiers = dict(Merchant.objects.values_list("pk", "tier"))
        self.standards: dict[tuple, ServiceStandard | None] = {}
        self.value = self.tickets.value

    def times_on(self, day: date, count: int) -> list[datetime]:
        rng = self.rng
        start = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
        latest = min(self.now - timedelta(seconds=1), start + timedelta(days=1))
        times = []
        for _ in range(count):
            hour = rng.choices(range(24), cum_weights=self.hour_cum)[0]
            at = start + timedelta(hours=hour, seconds=rng.randrange(3600))
            if at >= latest:
                at = start + (latest - start) * rng.random()
            times.append(at)
        times.sort()
        return times

    def add(self, created_at: datetime, number: str) -> None:
        rng, col, value = self.rng, self.col, self.value
        shop = rng.choices(self.shops, cum_weights=self.shop_cum)[0]
        category = rng.choices(self.categories, cum_weights=self.category_cum)[0]
        report = rng.choice(self.reports[category])
        channel = rng.choices(self.channels, cum_weights=self.channel_cum)[0]
        agent = rng.choice(self.agents)
        if channel == "portal" and shop.user_id is None:
            channel = "phone"
        creator = shop.user_id if channel == "portal" else agent if channel in ("phone", "console") else None
        terminal_id = None
        if shop.terminal_ids and rng.random() < (0.85 if report.needs_terminal else 0.2):
            terminal_id = rng.choice(shop.terminal_ids)
        age_days = (self.now - created_at).total_seconds() / 86400
        open_share = next(share for limit, share in _OPEN_SHARE_BY_AGE if age_days < limit)
        resolved_at = closed_at = None
        onsite = report.onsite and rng.random() < 0.7
        if rng.random() < open_share:
            status = rng.choices(self.open_statuses, cum_weights=self.open_cum)[0]
            onsite = status in _ONSITE
            updated_at = created_at + (self.now - created_at) * rng.random() * 0.5
        elif rng.random() < 0.06:
            status = Status.CANCELLED
            closed_at = min(created_at + timedelta(hours=rng.uniform(0.2, 24)), self.now)
            updated_at = closed_at
        else:
            resolved_at = created_at + timedelta(hours=rng.uniform(0.5, 72 if onsite else 30))
            if resolved_at >= self.now:
                status, resolved_at = Status.IN_PROGRESS, None
                updated_at = created_at + (self.now - created_at) * rng.random()
            else:
                closes_after = timedelta(days=7, minutes=rng.randint(1, 15)) if rng.random() < 0.7 \
                    else timedelta(hours=rng.uniform(0.5, 72))
                closed_at = resolved_at + closes_after
                if closed_at >= self.now:
                    status, closed_at = Status.RESOLVED, None
                    updated_at = resolved_at
                else:
                    status = Status.CLOSED
                    updated_at = closed_at
        row = self.tickets.row()
        row[col["number"]] = number
        row[col["merchant_id"]] = shop.id
        row[col["terminal_id"]] = terminal_id
        row[col["channel"]] = channel
        row[col["category"]] = category
        row[col["priority"]] = report.priority
        row[col["status"]] = str(status)  # plain text for COPY / executemany
        description = report.text.replace("{code}", rng.choice(cat.RESPONSE_CODES))
        row[col["subject"]] = description if len(description) <= 60 else description[:60] + "…"
        row[col["description"]] = description
        row[col["district_id"]] = shop.district_id
        row[col["created_by_id"]] = creator
        if status != Status.NEW:
            if onsite and self.vendor_staff and rng.random() < 0.4:
                row[col["assignee_id"]] = rng.choice(self.vendor_staff)
                row[col["vendor_id"]] = self.vendor_id
                row[col["team_id"]] = self.field_team
            elif onsite:
                row[col["assignee_id"]] = rng.choice(self.technicians)
                row[col["team_id"]] = self.field_team
            else:
                row[col["team_id"]] = self.team_for[category]
                row[col["assignee_id"]] = agent if status != Status.TRIAGED or rng.random() < 0.5 else None
        row[col["created_at"]] = value(created_at)
        row[col["updated_at"]] = value(updated_at)
        row[col["resolved_at"]] = value(resolved_at) if resolved_at else None
        row[col["closed_at"]] = value(closed_at) if closed_at else None
        first_response_at = None
        if status != Status.NEW:
            first_response_at = min(created_at + timedelta(minutes=rng.uniform(2, 90)), updated_at)
            row[col["first_response_at"]] = value(first_response_at)
        self._deadlines(row, shop.id, created_at, updated_at, first_response_at, resolved_at, status, onsite)
        self.pending.append(row)
        auto_closed = status == Status.CLOSED and closed_at - resolved_at >= timedelta(days=7)
        self.moments.append((updated_at, auto_closed))

    def _deadlines(self, row: list, merchant_id: int, created_at: datetime, updated_at: datetime,
                   first_response_at: datetime | None, resolved_at: datetime | None, status: str,
                   onsite: bool) -> None:
        """The SLA columns as the services would have left them (past escalations done)."""
        col, value = self.col, self.value
        key = (row[col["priority"]], self.tiers.get(merchant_id, ""), row[col["category"]], row[col["channel"]],
               row[col["team_id"]])
        if key not in self.standards:
            self.standards[key] = service_standard_for(priority=key[0], merchant_tier=key[1], category=key[2],
                                                       channel=key[3], team_id=key[4])
        standard = self.standards[key]
        if standard is None:
            return
        onsite_requested_at = created_at + timedelta(hours=1) if onsite and status != Status.NEW else None
        ticket = Ticket(priority=key[0], category=key[2], channel=key[3], team_id=key[4], status=status,
                        created_at=created_at, updated_at=updated_at, first_response_at=first_response_at,
                        resolved_at=resolved_at, onsite_requested_at=onsite_requested_at)
        sla_settle(ticket, now=self.now, standard=standard)
        for name in SLA_COLUMNS:
            if name == "sla_policy_id":
                row[col[name]] = ticket.sla_policy_id
            elif name == "sla_stages":
                row[col[name]] = int(ticket.sla_stages)
            else:
                moment = getattr(ticket, name)
                row[col[name]] = value(moment) if moment is not None else None

    def flush(self) -> int:
        rows, moments = self.pending, self.moments
        if not rows:
            return 0
        col, events, value = self.col, self.events, self.value
        e = events.position
        with transaction.atomic():
            ticket_ids = self.tickets.ids(len(rows))
            moved = sum(1 for row in rows if row[col["status"]] != Status.NEW)
            event_ids = iter(events.ids(len(rows) + moved))
            event_rows = []
            for row, ticket_id, (changed_at, auto_closed) in zip(rows, ticket_ids, moments, strict=True):
                row[col["id"]] = ticket_id
                created = events.row()
                created[e["id"]] = next(event_ids)
                created[e["ticket_id"]] = ticket_id
                created[e["kind"]] = TicketEvent.Kind.CREATED.value
                created[e["actor_id"]] = row[col["created_by_id"]]
                created[e["body"]] = row[col["description"]]
                created[e["to_status"]] = Status.NEW.value
                created[e["data"]] = self.channel_data[row[col["channel"]]]
                created[e["created_at"]] = row[col["created_at"]]
                event_rows.append(created)
                status = row[col["status"]]
                if status == Status.NEW:
                    continue
                moved_event = events.row()
                moved_event[e["id"]] = next(event_ids)
                moved_event[e["ticket_id"]] = ticket_id
                moved_event[e["kind"]] = TicketEvent.Kind.STATUS_CHANGED.value
                moved_event[e["from_status"]] = _PREVIOUS_STATUS[status].value
                moved_event[e["to_status"]] = status
                moved_event[e["actor_id"]] = None if auto_closed else row[col["assignee_id"]]
                if auto_closed:
                    moved_event[e["reason"]] = "auto-close"
                    moved_event[e["data"]] = '{"automatic": true}'
                elif status == Status.CANCELLED:
                    moved_event[e["reason"]] = self.rng.choice(cat.CANCEL_REASONS)
                moved_event[e["created_at"]] = value(changed_at)
                event_rows.append(moved_event)
            self.tickets.insert(rows)
            events.insert(event_rows)
        self.pending, self.moments = [], []
        return len(rows)


def _analyze() -> None:
    """Fresh planner statistics after a big load (and on PostgreSQL the visibility map, so counts
    can use index-only scans), as autovacuum or a maintenance job would leave them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # VACUUM cannot run inside a transaction (e.g. when called from a test)
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            for model in (Ticket, TicketEvent):
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
