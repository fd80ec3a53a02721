"""Ninety days of ticket history, written as stories: each ticket is reported, answered, assigned,
repaired (remotely or on site), confirmed, closed, sometimes reopened or cancelled, with the
events the services would have written. Pure: no database; ids come in, plans come out.

The stories follow the state machine of `posdesk.tickets.lifecycle` and the side rules of
`posdesk.tickets.services` (a staff reply to a new ticket starts work and is the first response,
a merchant's reply to a ticket waiting on them resumes it, reopen clears resolved/closed, resolved
tickets close themselves after the reopen window). Stories are simulated to their end and cut at
"now", so old tickets are closed and recent ones sit in every open state."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from posdesk.core.taxonomy import Category, Channel, Priority, Status
from posdesk.demo import catalogue as cat

SHANGHAI = dt_timezone(timedelta(hours=8))  # Asia/Shanghai has no DST
# Tickets opened per merchant per day, about 28 a day for the 300 demo merchants.
TICKETS_PER_MERCHANT_DAY = 0.093
# Relative volume by hour of day (Asia/Shanghai): morning and afternoon peaks, restaurants at night.
HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 2, 5, 9, 10, 9, 7, 6, 8, 9, 8, 7, 6, 6, 5, 4, 3, 2]
WEEKDAY_FACTORS = [1.1, 1.05, 1.0, 1.0, 1.05, 0.8, 0.7]  # Monday first
FIRST_RESPONSE_HOURS = {"P1": (0.05, 0.5), "P2": (0.1, 2.0), "P3": (0.3, 6.0), "P4": (1.0, 20.0)}
SLOW_FIRST_RESPONSE = 0.08
STALLED_SHARE = 0.18  # tickets that wait days somewhere in their story: the open backlog  # a few tickets wait long for a first answer: the backlog
PRIORITIES = [p.value for p in Priority]


@dataclass(frozen=True)
class Shop:
    """A merchant as the planner needs it."""

    id: int
    district_id: int | None
    terminal_ids: tuple[int, ...]
    user_id: int | None  # the portal user of the primary contact, if they have signed in
    weight: float = 1.0


@dataclass(frozen=True)
class Cast:
    """The people who work tickets, by id, and the names the timeline shows."""

    agents: tuple[int, ...]
    tech_support: tuple[int, ...]
    technicians: tuple[int, ...]
    vendor_staff: tuple[int, ...]
    supervisors: tuple[int, ...]
    names: dict[int, str]
    teams: dict[str, int]  # team code → id
    team_names: dict[int, str]
    vendor_id: int
    vendor_name: str


@dataclass
class PlannedEvent:
    kind: str
    at: datetime
    actor_id: int | None
    is_public: bool = True
    body: str = ""
    from_status: str = ""
    to_status: str = ""
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    by_staff: bool = False  # not stored: a staff reply is a first response


@dataclass
class PlannedTicket:
    merchant_id: int
    district_id: int | None
    terminal_id: int | None
    channel: str
    category: str
    priority: str
    subject: str
    description: str
    created_by_id: int | None
    created_at: datetime
    events: list[PlannedEvent]
    opened_as: tuple[str, str] = ("", "")  # category and priority when reported
    # the state after replaying `events` (see `replay`)
    status: str = Status.NEW
    team_id: int | None = None
    assignee_id: int | None = None
    vendor_id: int | None = None
    reopen_count: int = 0
    updated_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None


def replay(ticket: PlannedTicket) -> PlannedTicket:
    """Set the ticket's fields from its events, exactly as the services would have left them."""
    t = ticket
    t.status, t.team_id, t.assignee_id, t.vendor_id = Status.NEW, None, None, None
    t.reopen_count, t.first_response_at, t.resolved_at, t.closed_at = 0, None, None, None
    t.category, t.priority = t.opened_as
    for event in t.events:
        if event.kind == "reply" and event.by_staff and t.first_response_at is None:
            t.first_response_at = event.at
        elif event.kind == "assigned":
            changes = event.data["changes"]
            t.assignee_id = changes["assignee"][1] if "assignee" in changes else t.assignee_id
            t.team_id = changes["team"][1] if "team" in changes else t.team_id
            t.vendor_id = changes["vendor"][1] if "vendor" in changes else t.vendor_id
        elif event.kind == "fields_changed":
            changes = event.data["changes"]
            t.category = changes.get("category", [None, t.category])[1]
            t.priority = changes.get("priority", [None, t.priority])[1]
        elif event.kind == "status_changed":
            from_status, to_status = event.from_status, event.to_status
            t.status = to_status
            if to_status == Status.RESOLVED:
                t.resolved_at = event.at
            elif to_status in (Status.CLOSED, Status.CANCELLED):
                t.closed_at = event.at
            if from_status in (Status.RESOLVED, Status.CLOSED) and to_status == Status.IN_PROGRESS:
                t.reopen_count += 1
                t.resolved_at = t.closed_at = None
    t.updated_at = t.events[-1].at if t.events else t.created_at
    return t


# --- one ticket's story -------------------------------------------------------------------------

class _Story:
    """Appends the events of one ticket in time order, tracking its status like the services do."""

    def __init__(self, rng: random.Random, cast: Cast, start: datetime, *, around_the_clock: bool = False) -> None:
        self.rng, self.cast = rng, cast
        self.around_the_clock = around_the_clock
        self.at = start
        self.status: str = Status.NEW
        self.events: list[PlannedEvent] = []
        self.assignee: int | None = None
        self.team: int | None = None
        self.vendor: int | None = None

    def wait(self, low_hours: float, high_hours: float) -> None:
        """Let time pass. Outside working hours (08:30–21:00) the next step waits for the morning,
        except on P1 tickets, which are worked around the clock."""
        self.at += timedelta(hours=self.rng.uniform(low_hours, high_hours), seconds=self.rng.randint(0, 59))
        if self.around_the_clock:
            return
        local = self.at.astimezone(SHANGHAI)
        opening = local.replace(hour=8, minute=30, second=0, microsecond=0)
        if local.hour >= 21:
            opening += timedelta(days=1)
        if local < opening:
            self.at = (opening + timedelta(minutes=self.rng.randint(0, 90))).astimezone(UTC)

    def add(self, **kwargs: Any) -> PlannedEvent:
        event = PlannedEvent(at=self.at, **kwargs)
        self.events.append(event)
        return event

    def move(self, to_status: str, actor: int | None, reason: str = "", automatic: bool = False) -> None:
        self.add(kind="status_changed", actor_id=actor, from_status=self.status, to_status=to_status,
                 reason=reason, data={"automatic": True} if automatic else {}, by_staff=actor is not None)
        self.status = to_status

    def staff_reply(self, actor: int, body: str) -> None:
        self.add(kind="reply", actor_id=actor, body=body, by_staff=True)
        if self.status in (Status.NEW, Status.TRIAGED):
            self.move(Status.IN_PROGRESS, actor, automatic=True)

    def merchant_reply(self, actor: int, body: str) -> None:
        self.add(kind="reply", actor_id=actor, body=body)
        if self.status == Status.WAITING_MERCHANT:
            self.move(Status.IN_PROGRESS, actor, automatic=True)

    def note(self, actor: int, body: str) -> None:
        self.add(kind="note", actor_id=actor, body=body, is_public=False, by_staff=True)

    def assign(self, actor: int, *, assignee: Any = ..., team: Any = ..., vendor: Any = ...) -> None:
        before = {"assignee": self.assignee, "team": self.team, "vendor": self.vendor}
        if assignee is not ...:
            self.assignee = assignee
        if team is not ...:
            self.team = team
        if vendor is not ...:
            self.vendor = vendor
        after = {"assignee": self.assignee, "team": self.team, "vendor": self.vendor}
        changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if not changes:
            return
        names = self.cast.names
        self.add(kind="assigned", actor_id=actor, is_public=False, by_staff=True, data={
            "changes": changes,
            "assignee": names.get(self.assignee) if self.assignee else None,
            "team": self.cast.team_names.get(self.team) if self.team else None,
            "vendor": self.cast.vendor_name if self.vendor else None,
        })

    def classify(self, actor: int, *, category: str, priority: str, was: tuple[str, str]) -> None:
        changes = {}
        if category != was[0]:
            changes["category"] = [was[0], category]
        if priority != was[1]:
            changes["priority"] = [was[1], priority]
        if changes:
            self.add(kind="fields_changed", actor_id=actor, is_public=False, by_staff=True,
                     data={"changes": changes})


# Which stories can show a ticket in a given status (for the coverage of every status).
STORY_FOR_STATUS = {
    Status.NEW: "remote", Status.TRIAGED: "remote", Status.IN_PROGRESS: "remote",
    Status.WAITING_MERCHANT: "waiting", Status.ONSITE_SCHEDULED: "onsite",
    Status.ONSITE_IN_PROGRESS: "onsite", Status.PENDING_ACCEPTANCE: "onsite",
    Status.RESOLVED: "remote", Status.CLOSED: "remote", Status.CANCELLED: "cancel",
}


class HistoryPlanner:
    def __init__(self, *, shops: Sequence[Shop], cast: Cast, now: datetime, days: int, seed: str,
                 showcase_shop_id: int | None = None, reopen_window_days: int = 7) -> None:
        if not shops:
            raise ValueError("the history needs at least one merchant")
        self.rng = random.Random(f"{seed}:history")
        self.shops = list(shops)
        self.shop_weights = [s.weight for s in self.shops]
        self.cast = cast
        self.now = now
        self.days = days
        self.showcase = next((s for s in self.shops if s.id == showcase_shop_id), None)
        self.reopen_window = timedelta(days=reopen_window_days)
        terminal_owners = [(t, s) for s in self.shops for t in s.terminal_ids]
        # A few terminals fail again and again (repeat faults on one terminal).
        self.flaky = self.rng.sample(terminal_owners, k=min(len(terminal_owners), max(3, len(terminal_owners) // 20)))
        self.reports_by_category: dict[str, list[cat.Report]] = {}
        for report in cat.REPORTS:
            self.reports_by_category.setdefault(report.category, []).append(report)

    # -- volume over time

    def creation_times(self) -> list[datetime]:
        rng = self.rng
        per_day = TICKETS_PER_MERCHANT_DAY * len(self.shops)
        today = self.now.astimezone(SHANGHAI).date()
        times = []
        for offset in range(self.days - 1, -1, -1):
            day = today - timedelta(days=offset)
            expected = per_day * WEEKDAY_FACTORS[day.weekday()] * rng.uniform(0.8, 1.2)
            count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
            for _ in range(count):
                times.append(self._time_on(day))
        return sorted(t for t in times if t < self.now)

    def _time_on(self, day: date) -> datetime:
        hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        local = datetime(day.year, day.month, day.day, hour, self.rng.randint(0, 59), self.rng.randint(0, 59),
                         tzinfo=SHANGHAI)
        return local.astimezone(UTC)

    # -- the plan

    def plan(self) -> list[PlannedTicket]:
        tickets = []
        coverage = self._coverage_reports()
        for i, created_at in enumerate(self.creation_times()):
            if i < len(coverage):  # told to the end, so the desk's classification is on record
                tickets.append(self.plan_ticket(created_at, report=coverage[i], story="remote"))
            else:
                tickets.append(self.plan_ticket(created_at))
        self._cover_every_status(tickets)
        return tickets

    def _coverage_reports(self) -> list[cat.Report]:
        """The oldest tickets take one report of each category, together covering every priority,
        so even a small demo shows the whole taxonomy."""
        chosen: list[cat.Report] = []
        missing_priorities = set(PRIORITIES)
        for category in Category:
            reports = self.reports_by_category[category.value]
            report = next((r for r in reports if r.priority in missing_priorities), reports[0])
            missing_priorities.discard(report.priority)
            chosen.append(report)
        return chosen

    def plan_ticket(self, created_at: datetime, *, report: cat.Report | None = None, story: str | None = None,
                    shop: Shop | None = None) -> PlannedTicket:
        """One ticket: its whole story, cut at "now"."""
        ticket = self._tell_ticket(created_at, report=report, story=story, shop=shop)
        ticket.events = [e for e in ticket.events if e.at <= self.now]
        return replay(ticket)

    def _tell_ticket(self, created_at: datetime, *, report: cat.Report | None, story: str | None,
                     shop: Shop | None) -> PlannedTicket:
        rng = self.rng
        if report is None:
            category = rng.choices(list(cat.CATEGORY_SHARES), weights=list(cat.CATEGORY_SHARES.values()))[0]
            report = rng.choice(self.reports_by_category[category])
            priority = report.priority
            if rng.random() < 0.12:  # the same words can be more or less urgent for different shops
                index = PRIORITIES.index(priority) + rng.choice((-1, 1))
                priority = PRIORITIES[min(max(index, 0), len(PRIORITIES) - 1)]
        else:
            priority = report.priority
        terminal_id = None
        if shop is None and report.category in ("hardware", "network", "software") and rng.random() < 0.2:
            terminal_id, shop = rng.choice(self.flaky)
        shop = shop or rng.choices(self.shops, weights=self.shop_weights)[0]
        if terminal_id is None and shop.terminal_ids and (report.needs_terminal or rng.random() < 0.25):
            terminal_id = rng.choice(shop.terminal_ids)
        channel = rng.choices(list(cat.CHANNEL_SHARES), weights=list(cat.CHANNEL_SHARES.values()))[0]
        if channel == Channel.PORTAL and shop.user_id is None:
            channel = Channel.PHONE
        text = report.text.format(code=rng.choice(cat.RESPONSE_CODES))
        agent = rng.choice(self.cast.agents)
        # Inbound messages (WeChat, SMS, e-mail, API) have no person behind them in the system.
        creator = {Channel.PHONE: agent, Channel.CONSOLE: agent, Channel.PORTAL: shop.user_id}.get(channel)
        # The desk classifies what merchants send themselves (ticket_open starts them as
        # consultation / P3); agents on the phone classify as they type.
        self_reported = channel not in (Channel.PHONE, Channel.CONSOLE, Channel.API)
        opened_as = (Category.CONSULTATION.value, Priority.P3.value) if self_reported else (report.category, priority)

        s = _Story(rng, self.cast, created_at, around_the_clock=priority == Priority.P1)
        s.add(kind="created", actor_id=creator, body=text, to_status=Status.NEW, data={"channel": channel})
        self._tell(s, story or self._choose_story(report), report, priority, opened_as, shop, agent)
        return PlannedTicket(
            merchant_id=shop.id, district_id=shop.district_id, terminal_id=terminal_id, channel=channel,
            category=opened_as[0], priority=opened_as[1], opened_as=opened_as, subject=_subject_from(text),
            description=text, created_by_id=creator, created_at=created_at, events=s.events,
        )

    def _choose_story(self, report: cat.Report) -> str:
        roll = self.rng.random()
        if roll < 0.06:
            return "cancel"
        if report.onsite and roll < 0.70:
            return "onsite"
        if report.category == "hardware" and roll < 0.15:
            return "onsite"
        if roll < 0.30:
            return "waiting"
        return "remote"

    def _tell(self, s: _Story, kind: str, report: cat.Report, priority: str, opened_as: tuple[str, str],
              shop: Shop, agent: int) -> None:
        rng, cast = self.rng, self.cast
        category = report.category
        low, high = FIRST_RESPONSE_HOURS[priority]
        if rng.random() < SLOW_FIRST_RESPONSE:
            low, high = high, high * 6
        s.wait(low, high)
        if kind == "cancel" and rng.random() < 0.4:
            # the merchant withdraws before anyone answers
            s.move(Status.CANCELLED, shop.user_id or agent, reason=rng.choice(cat.CANCEL_REASONS))
            return
        if rng.random() < 0.5 or opened_as != (category, priority):
            s.classify(agent, category=category, priority=priority, was=opened_as)
            s.move(Status.TRIAGED, agent)
            s.wait(0.02, 0.5)
        team = cast.teams["tech-support"] if category in ("software", "network") else cast.teams["frontline"]
        if category == "service_complaint":
            team = cast.teams["customer-care"]
        worker = rng.choice(cast.tech_support) if team == cast.teams["tech-support"] else agent
        s.assign(agent, team=team, assignee=worker)
        s.staff_reply(worker, rng.choice(cat.FIRST_REPLIES[category]))
        if kind == "cancel":
            s.wait(1, 30)
            s.move(Status.CANCELLED, worker, reason=rng.choice(cat.CANCEL_REASONS))
            return
        if rng.random() < 0.5:
            s.wait(0.1, 3)
            s.note(worker, rng.choice(cat.INTERNAL_NOTES[category]))
        if kind == "waiting":
            s.wait(0.1, 2)
            s.move(Status.WAITING_MERCHANT, worker, reason=rng.choice(cat.WAITING_REASONS))
            s.wait(2, 72) if rng.random() > STALLED_SHARE else s.wait(72, 300)
            if shop.user_id:
                s.merchant_reply(shop.user_id, rng.choice(cat.MERCHANT_REPLIES))
            else:
                s.note(worker, "商户来电补充了情况")
                s.move(Status.IN_PROGRESS, worker)
            s.wait(0.5, 12)
            s.staff_reply(worker, rng.choice(cat.FOLLOW_UP_REPLIES))
        if rng.random() < STALLED_SHARE:  # escalated to the acquirer, waiting for parts or a bank
            s.note(worker, rng.choice(cat.INTERNAL_NOTES[category]))
            s.wait(24, 200)
        if kind == "onsite":
            self._onsite(s, shop, worker)
        else:
            s.wait(0.5, 48 if priority in ("P3", "P4") else 12)
            s.move(Status.RESOLVED, worker)
        self._after_resolution(s, shop, worker)

    def _onsite(self, s: _Story, shop: Shop, dispatcher: int) -> None:
        rng, cast = self.rng, self.cast
        s.wait(0.2, 4)
        if rng.random() < 0.6:
            field_worker = rng.choice(cast.technicians)
            s.assign(dispatcher, team=cast.teams["field-service"], assignee=field_worker)
        else:
            field_worker = rng.choice(cast.vendor_staff)
            s.assign(dispatcher, team=cast.teams["field-service"], vendor=cast.vendor_id, assignee=field_worker)
        s.move(Status.ONSITE_SCHEDULED, dispatcher, reason=rng.choice(cat.SCHEDULE_REASONS))
        for attempt in range(2):
            s.wait(6, 72) if rng.random() > STALLED_SHARE else s.wait(48, 200)  # parts to order
            s.move(Status.ONSITE_IN_PROGRESS, field_worker)
            s.wait(0.3, 2)
            s.note(field_worker, rng.choice(cat.ONSITE_NOTES))
            s.move(Status.PENDING_ACCEPTANCE, field_worker)
            s.wait(0.1, 20)
            if attempt == 0 and rng.random() < 0.08:
                # the test transaction fails: back to work, another visit
                s.move(Status.IN_PROGRESS, shop.user_id or dispatcher, reason=rng.choice(cat.REJECT_REASONS))
                s.wait(0.5, 6)
                s.move(Status.ONSITE_SCHEDULED, dispatcher, reason=rng.choice(cat.SCHEDULE_REASONS))
                continue
            break
        if shop.user_id:
            s.move(Status.RESOLVED, shop.user_id, reason="merchant confirmed")
        else:
            s.move(Status.RESOLVED, dispatcher, reason="电话回访，商户确认已修复")

    def _after_resolution(self, s: _Story, shop: Shop, worker: int) -> None:
        rng = self.rng
        if rng.random() < 0.05:
            s.wait(4, 100)
            s.move(Status.IN_PROGRESS, shop.user_id or worker, reason=rng.choice(cat.REOPEN_REASONS))
            s.wait(0.3, 6)
            s.staff_reply(worker, rng.choice(cat.FOLLOW_UP_REPLIES))
            s.wait(1, 24)
            s.move(Status.RESOLVED, worker)
        # the periodic job closes resolved tickets when the reopen window has passed
        s.at += self.reopen_window + timedelta(minutes=rng.randint(1, 15))
        s.move(Status.CLOSED, None, reason="auto-close", automatic=True)

    # -- every status shown

    def _cover_every_status(self, tickets: list[PlannedTicket]) -> None:
        """Recent tickets stand in for any status the random stories did not leave a ticket in:
        their story is told again and stopped in that status (a backlog that happens). The
        showcase merchant always has a repair waiting for its confirmation (the portal demo)."""
        counts = Counter(t.status for t in tickets)
        needed = [s for s in Status if not counts[s]]
        showcase_waits = self.showcase is not None and any(
            t.merchant_id == self.showcase.id and t.status == Status.PENDING_ACCEPTANCE for t in tickets
        )
        if not showcase_waits and Status.PENDING_ACCEPTANCE not in needed:
            needed.append(Status.PENDING_ACCEPTANCE)
        used: set[int] = set()
        for status in needed:
            index = next((i for i in range(len(tickets) - 1, -1, -1)
                          if i not in used and counts[tickets[i].status] > 1), None)
            if index is None:
                return
            used.add(index)
            counts[tickets[index].status] -= 1
            tickets[index] = self._stopped_in(tickets[index], status)
            counts[tickets[index].status] += 1

    def _stopped_in(self, ticket: PlannedTicket, status: str) -> PlannedTicket:
        story = STORY_FOR_STATUS[status]
        shop = self.showcase if status in (Status.PENDING_ACCEPTANCE, Status.RESOLVED) else None
        shop = shop or next(s for s in self.shops if s.id == ticket.merchant_id)
        reports = [r for r in cat.REPORTS if r.category == ticket.category and (r.onsite or story != "onsite")]
        report = reports[0] if reports else next(r for r in cat.REPORTS if r.onsite)
        for _attempt in range(20):
            full = self._tell_ticket(ticket.created_at, report=report, story=story, shop=shop)
            cut = 0 if status == Status.NEW else next(
                (i for i, e in enumerate(full.events) if e.kind == "status_changed" and e.to_status == status), None
            )
            if cut is None:
                continue  # this telling skipped the status (e.g. no triage); tell it again
            events = full.events[: cut + 1]
            overshoot = events[-1].at - self.now + timedelta(minutes=5)
            if overshoot > timedelta(0):  # move the whole story back so it has happened by now
                events = [replace(e, at=e.at - overshoot) for e in events]
                full.created_at -= overshoot
            full.events = events
            return replay(full)
        return ticket


def _subject_from(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return first_line[:60] + ("…" if len(first_line) > 60 else "")
