"""Incidents (C7): the detector's bookkeeping, opening incidents on a spike, linking and answering
the tickets of an incident, updates broadcast to the affected merchants, and resolution.

`incidents_observe` is called by the intake pipeline (triage) after each batch of new tickets is
classified. Per batch it costs a fixed number of statements whatever its size: record the
tickets' keys (once per ticket: a retried job counts nothing twice) and add them to the per-minute
counters in one upsert; read the active incidents; link the tickets an incident already explains;
and only for the rest read the windows' counts and the baselines. Opening an incident takes a
lock (PostgreSQL: an advisory lock; SQLite: its one writer), then looks again, so two workers that
see one spike at once open one incident; a partial unique index on the active scope backs it up."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, Q, Sum
from django.db.models.functions import Mod
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from posdesk.accounts.models import Role, User
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.contact.models import ContactPurpose
from posdesk.contact.services import ContactDraft, ContactResult, contact_request, contact_request_many
from posdesk.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from posdesk.core.taxonomy import Category, Status
from posdesk.core.text import without_nul
from posdesk.incidents import detector
from posdesk.incidents.models import (
    ACTIVE_STATUSES,
    CONFIRMED_STATUSES,
    DetectorBaseline,
    DetectorCount,
    DetectorHourCount,
    DetectorSignal,
    Incident,
    IncidentEvent,
    IncidentTicket,
)
from posdesk.incidents.signals import TicketSignal
from posdesk.merchants.models import District
from posdesk.terminals.models import TerminalModel
from posdesk.tickets import lifecycle
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_reply_route

logger = logging.getLogger("posdesk.incidents")
SHANGHAI = timezone.get_fixed_timezone(8 * 60)
ROWS_PER_STATEMENT = 500
# any constant: the advisory lock that serialises opening incidents on PostgreSQL
_DETECTION_LOCK = 7_202_611_051


def batched(rows: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def spike_rule() -> detector.SpikeRule:
    return detector.SpikeRule(
        windows=detector.parse_windows(settings.INCIDENT_WINDOWS), factor=settings.INCIDENT_SPIKE_FACTOR
    )


# --- raw upserts (one statement per batch; both databases speak ON CONFLICT … RETURNING) -------


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _signals_insert(rows: list[tuple[int, datetime, str]]) -> set[int]:
    """Insert (ticket_id, created_at, keys); the ids of those not recorded before."""
    table = _q(DetectorSignal._meta.db_table)
    inserted: set[int] = set()
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for chunk in batched(rows, ROWS_PER_STATEMENT):
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            params = [p for ticket_id, at, keys in chunk for p in (ticket_id, adapt(at), keys)]
            cursor.execute(
                f"INSERT INTO {table} ({_q('ticket_id')}, {_q('created_at')}, {_q('keys')}) "  # noqa: S608
                f"VALUES {values} ON CONFLICT ({_q('ticket_id')}) DO NOTHING RETURNING {_q('ticket_id')}",
                params,
            )
            inserted.update(row[0] for row in cursor.fetchall())
    return inserted


def _counts_add(
    increments: Iterable[tuple[tuple[str, int], int]], model: type = DetectorCount, slot: str = "minute"
) -> None:
    """Add to the counters in one upsert; rows in key order, so two workers never deadlock."""
    rows = sorted(increments)
    if not rows:
        return
    table = _q(model._meta.db_table)
    key, count = _q("key"), _q("count")
    with connection.cursor() as cursor:
        for chunk in batched(rows, ROWS_PER_STATEMENT):
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            params = [p for (k, at), n in chunk for p in (k, at, n)]
            cursor.execute(
                f"INSERT INTO {table} ({key}, {_q(slot)}, {count}) VALUES {values} "  # noqa: S608
                f"ON CONFLICT ({key}, {_q(slot)}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}",
                params,
            )


def _links_insert(incident_id: int, tickets: list[Ticket], at: datetime) -> set[int]:
    """Link tickets to the incident; the ids of those linked now (a ticket links to one incident)."""
    table = _q(IncidentTicket._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    columns = ", ".join(
        _q(c) for c in ("incident_id", "ticket_id", "merchant_id", "ticket_created_at", "linked_at")
    )
    inserted: set[int] = set()
    with connection.cursor() as cursor:
        for chunk in batched(tickets, ROWS_PER_STATEMENT):
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            params = [
                p for t in chunk for p in (incident_id, t.pk, t.merchant_id, adapt(t.created_at), adapt(at))
            ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} "  # noqa: S608
                f"ON CONFLICT ({_q('ticket_id')}) DO NOTHING RETURNING {_q('ticket_id')}",
                params,
            )
            inserted.update(row[0] for row in cursor.fetchall())
    return inserted


def _counting_commit_without_flush() -> None:
    """PostgreSQL: this transaction's commit does not wait for its WAL to reach the disk. It holds
    only the detector's counts — a sliding estimate — and a database crash could lose the last
    fraction of a second of them, which changes no decision that matters; incidents, links and
    answers are written in transactions of their own, fully durable. The wait was most of the
    detector's cost per ticket on PostgreSQL (bench/RESULTS.md). SQLite in WAL mode with
    synchronous=NORMAL already commits without a sync."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _detection_lock() -> None:
    # SQLite: the IMMEDIATE transaction already holds the database's one write lock
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DETECTION_LOCK])


# --- observing the stream of new tickets ----------------------------------------------------------


@dataclass(frozen=True)
class _Active:
    id: int
    scope_key: str
    status: str

    @property
    def links(self) -> bool:  # a dismissed incident only keeps its scope quiet for a while
        return self.status in ACTIVE_STATUSES


def _active_incidents(at: datetime) -> list[_Active]:
    """Active incidents, and dismissed ones still keeping their scope quiet: read on every batch
    (a handful of rows, by the status index), in SQL written once rather than compiled per call."""
    table = _q(Incident._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_q('id')}, {_q('scope_key')}, {_q('status')} FROM {table} "  # noqa: S608 - our names
            f"WHERE {_q('status')} IN (%s, %s, %s) OR ({_q('status')} = %s AND {_q('dismissed_at')} >= %s)",
            [
                *sorted(ACTIVE_STATUSES),
                Incident.Status.DISMISSED,
                connection.ops.adapt_datetimefield_value(
                    at - timedelta(minutes=settings.INCIDENT_DISMISS_QUIET_MINUTES)
                ),
            ],
        )
        return [_Active(*row) for row in cursor.fetchall()]


def _match(keys: Sequence[str], active: Sequence[_Active]) -> _Active | None:
    """The incident whose scope this ticket falls in: the most specific if several."""
    found = {a.scope_key: a for a in active if a.scope_key in keys}
    best = detector.most_specific(found)
    return found[best] if best is not None else None


EXPLAINED = "x:"  # prefix of the counters of tickets an incident explains: "x:r=96" per minute


def _spikes(
    keys: set[str], *, now_minute: int, at: datetime, rule: detector.SpikeRule
) -> dict[str, detector.Spike]:
    """The keys among `keys` whose unexplained count (tickets not linked to an incident) reaches
    the threshold now: two statements, the windows' counts and the hour's baselines."""
    per_minute: dict[str, dict[int, int]] = defaultdict(dict)
    baselines: dict[str, float] = {}
    counted = sorted(keys | {EXPLAINED + k for k in keys})
    wanted = sorted(keys)
    # one statement, written once (the ORM's per-call compilation cost more than the query): the
    # windows' per-minute counts of the keys and their explained counts, and the hour's baselines
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 0, {_q('key')}, {_q('minute')}, {_q('count')} FROM {_q(DetectorCount._meta.db_table)} "  # noqa: S608
            f"WHERE {_q('key')} IN ({', '.join(['%s'] * len(counted))}) AND {_q('minute')} > %s AND {_q('minute')} <= %s "
            f"UNION ALL SELECT 1, {_q('key')}, {_q('hour_of_week')}, {_q('per_hour')} "
            f"FROM {_q(DetectorBaseline._meta.db_table)} "
            f"WHERE {_q('key')} IN ({', '.join(['%s'] * len(wanted))}) AND {_q('hour_of_week')} = %s",
            [*counted, now_minute - rule.longest, now_minute, *wanted, detector.hour_of_week(at)],
        )
        for source, key, slot, value in cursor.fetchall():
            if source == 0:
                per_minute[key][int(slot)] = int(value)
            else:
                baselines[key] = float(value)
    spikes = {}
    for key in keys:
        spike = detector.spike_of(
            key,
            per_minute=per_minute.get(key, {}),
            explained_per_minute=per_minute.get(EXPLAINED + key, {}),
            now_minute=now_minute,
            baseline_per_hour=baselines.get(key, 0.0),
            rule=rule,
        )
        if spike is not None:
            spikes[key] = spike
    return spikes


def incidents_observe(*, signals: Sequence[TicketSignal]) -> dict[int, int]:
    """Feed new tickets to the detector. Tickets in the scope of an active incident are linked to
    it; a spike of the others opens an incident (or proposes it, POSDESK_INCIDENT_AUTO_OPEN) and
    links the recent tickets that made it. Reporters of tickets linked to an open incident are told
    its status at once, on their ticket's reply route. Returns {ticket_id: incident_id} for the
    tickets linked by this call to an open (confirmed) incident — their reporters have been
    answered; tickets linked to a proposal are not in it (nobody has confirmed the outage yet).

    Observing a ticket twice counts it once, but places it again: the count commits first (its own
    short transaction) and the linking after it, so a job retried after its worker died between the
    two links what the first run could not (linking is idempotent: a linked ticket is left alone,
    its reporter never told twice). A ticket nobody observes again is found by
    `incident_links_recover`, which this function runs now and then."""
    unique = list({s.ticket_id: s for s in signals}.values())
    if not unique:
        return {}
    keyed = [(s, s.keys()) for s in unique]
    with transaction.atomic():
        _counting_commit_without_flush()
        fresh = _signals_insert(
            [(s.ticket_id, s.created_at, "|" + "|".join(keys) + "|") for s, keys in keyed]
        )
        _counts_add(
            Counter(
                (key, detector.minute_of(s.created_at))
                for s, keys in keyed
                if s.ticket_id in fresh
                for key in keys
            ).items()
        )
    linked = _tickets_place(keyed)
    _links_recover_now_and_then()
    return linked


def _tickets_place(keyed: list[tuple[TicketSignal, list[str]]]) -> dict[int, int]:
    """Link counted tickets to the active incidents that explain them, and open incidents for the
    spikes of the rest."""
    at = max(s.created_at for s, _keys in keyed)
    active = _active_incidents(at)
    to_link: dict[int, list[int]] = defaultdict(list)
    unexplained: list[tuple[TicketSignal, list[str]]] = []
    for signal, keys in keyed:
        found = _match(keys, active)
        if found is None:
            unexplained.append((signal, keys))
        elif found.links:
            to_link[found.id].append(signal.ticket_id)
    linked: dict[int, int] = {}
    if unexplained:
        rule = spike_rule()
        spikes = _spikes(
            {k for _s, keys in unexplained for k in keys}, now_minute=detector.minute_of(at), at=at, rule=rule
        )
        if spikes:
            linked.update(_incidents_open_for_spikes(unexplained, spikes, at=at, rule=rule))
    for incident_id, ticket_ids in to_link.items():
        linked.update(incident_tickets_link(incident_id=incident_id, ticket_ids=ticket_ids))
    return linked


# --- recovering links a stopped worker left undone ------------------------------------------------

# a ticket is looked at by the recovery once its own observation has had time to finish (the intake
# job observes a ticket seconds after it is created); the recovery runs at most this often per process
LINKS_RECOVER_GRACE = timedelta(minutes=2)
LINKS_RECOVER_EVERY = timedelta(minutes=1)
_links_recover_due: list[datetime | None] = [None]  # per process: when the next observe runs the recovery


def _links_recover_now_and_then() -> None:
    """Run the recovery from the stream itself, once a minute per worker process (hourly upkeep
    covers a stream that stopped). Its failure never fails the observation that ran it."""
    now = timezone.now()
    due = _links_recover_due[0]
    if due is not None and now < due and due - now <= LINKS_RECOVER_EVERY:  # (a clock set back runs it)
        return
    _links_recover_due[0] = now + LINKS_RECOVER_EVERY
    try:
        with (
            transaction.atomic()
        ):  # a savepoint when the caller has a transaction: a failure spoils nothing of it
            incident_links_recover(now=now)
    except Exception:  # noqa: BLE001 - the next run retries; the tickets just observed are placed
        logger.exception("incident link recovery failed")


def incident_links_recover(*, now: datetime | None = None, grace: timedelta = LINKS_RECOVER_GRACE) -> int:
    """Link the tickets an active incident should hold but does not: tickets counted by the
    detector whose worker stopped before linking them (killed, or an error after the count's
    commit). A counted ticket is never counted again, so without this nothing would ever link it.

    Reads the detector's signals (kept an hour) in the active incidents' scopes that no incident
    holds, created since the incident's spike window began and at least `grace` ago, and places
    each as the observation would have: the most specific incident whose scope it falls in (a
    dismissed incident still keeping its scope quiet for that ticket wins, and links nothing).
    Reporters of a confirmed incident are told its status, once. Returns the tickets linked."""
    now = now or timezone.now()
    quiet = timedelta(minutes=settings.INCIDENT_DISMISS_QUIET_MINUTES)
    rows = list(
        Incident.objects.filter(
            Q(status__in=sorted(ACTIVE_STATUSES))
            | Q(status=Incident.Status.DISMISSED, dismissed_at__gte=now - SIGNALS_KEPT - quiet)
        ).values_list("pk", "scope_key", "status", "detected_at", "dismissed_at")
    )
    linking = [row for row in rows if row[2] in ACTIVE_STATUSES]
    if not linking:
        return 0
    window = timedelta(minutes=spike_rule().longest)
    since = max(now - SIGNALS_KEPT, min(detected for _pk, _key, _status, detected, _d in linking) - window)
    in_scope = Q()
    for scope_key in sorted({key for _pk, key, _status, _detected, _d in linking}):
        in_scope |= Q(keys__contains=f"|{scope_key}|")
    signals = (
        DetectorSignal.objects.filter(in_scope, created_at__gte=since, created_at__lt=now - grace)
        .filter(~Exists(IncidentTicket.objects.filter(ticket_id=OuterRef("ticket_id"))))
        .values_list("ticket_id", "created_at", "keys")
        .order_by("created_at", "ticket_id")
    )
    detected_at = {pk: detected for pk, _key, _status, detected, _d in rows}
    to_link: dict[int, list[int]] = defaultdict(list)
    for ticket_id, created_at, keys in signals.iterator(chunk_size=2000):
        candidates = [
            _Active(pk, key, status)
            for pk, key, status, _detected, dismissed_at in rows
            if status in ACTIVE_STATUSES or dismissed_at >= created_at - quiet
        ]
        found = _match(keys.strip("|").split("|"), candidates)
        if found is not None and found.links and created_at >= detected_at[found.id] - window:
            to_link[found.id].append(ticket_id)
    recovered = 0
    for incident_id, ticket_ids in to_link.items():
        recovered += len(_tickets_link(incident_id=incident_id, ticket_ids=ticket_ids)[0])
    if recovered:
        logger.warning("incident links recovered", extra={"tickets": recovered})
    return recovered


@transaction.atomic
def _incidents_open_for_spikes(
    unexplained: list[tuple[TicketSignal, list[str]]],
    spikes: dict[str, detector.Spike],
    *,
    at: datetime,
    rule: detector.SpikeRule,
) -> dict[int, int]:
    """Under the detection lock, look again (another worker may have opened the incident since)
    and open one incident per candidate scope still unexplained, most specific first."""
    _detection_lock()
    active = _active_incidents(at)
    linked: dict[int, int] = {}
    candidates: dict[str, detector.Spike] = {}
    for signal, keys in unexplained:
        found = _match(keys, active)
        if found is not None:
            if found.links:
                linked.update(incident_tickets_link(incident_id=found.id, ticket_ids=[signal.ticket_id]))
            continue
        spike = detector.candidate_scope(keys, spikes)
        if spike is not None:
            candidates.setdefault(spike.key, spike)
    for key in detector_order(candidates):
        # counted again under the lock: an incident opened since (by this loop or another worker)
        # may explain the excess that was measured before
        fresh = _spikes({key}, now_minute=detector.minute_of(at), at=at, rule=rule).get(key)
        if fresh is None:
            continue
        incident = _incident_create(fresh, at=at)
        linked.update(_recent_tickets_link(incident, at=at, minutes=rule.longest))
    return linked


def detector_order(candidates: Iterable[str]) -> list[str]:
    return sorted(candidates, key=lambda k: (detector.KIND_ORDER.index(detector.kind_of(k)), k))


def _scope_words(key: str) -> dict:
    """The scope in words (and ids) for the incident record and its title."""
    dims = detector.dims_of(key)
    scope: dict = {}
    if "r" in dims:
        scope["response_code"] = dims["r"]
    if "c" in dims:
        scope["category"] = dims["c"]
    if "d" in dims:
        district = District.objects.filter(pk=int(dims["d"])).values_list("code", "name_zh").first()
        scope.update(
            district_id=int(dims["d"]),
            district=district[0] if district else "",
            district_name=district[1] if district else dims["d"],
        )
    if "m" in dims:
        model = TerminalModel.objects.filter(pk=int(dims["m"])).values_list("code", "name").first()
        scope.update(
            terminal_model_id=int(dims["m"]), terminal_model=(model[1] or model[0]) if model else dims["m"]
        )
    if "f" in dims:
        scope["firmware"] = dims["f"]
    return scope


def _title(scope: dict) -> str:
    with translation.override(settings.LANGUAGE_CODE):  # shown to merchants: the house language
        parts = []
        if "district_name" in scope:
            parts.append(scope["district_name"])
        if "terminal_model" in scope:
            parts.append(scope["terminal_model"])
        if "firmware" in scope:
            parts.append(_("firmware %(firmware)s") % {"firmware": scope["firmware"]})
        if "category" in scope:
            parts.append(
                str(Category(scope["category"]).label)
                if scope["category"] in Category.values
                else scope["category"]
            )
        if "response_code" in scope:
            parts.append(_("response code %(code)s") % {"code": scope["response_code"]})
        return (_("Many reports at once: %(scope)s") % {"scope": " · ".join(parts)})[:200]


def _number_next(at: datetime) -> str:
    day = at.astimezone(SHANGHAI).strftime("%y%m%d")
    taken = Incident.objects.filter(number__startswith=f"INC{day}").count()  # under the detection lock
    return f"INC{day}{taken + 1:03d}"


def _incident_create(spike: detector.Spike, *, at: datetime) -> Incident:
    kind = detector.kind_of(spike.key)
    auto = kind in settings.INCIDENT_AUTO_OPEN
    scope = _scope_words(spike.key)
    now = timezone.now()
    incident = Incident.objects.create(
        number=_number_next(at),
        title=_title(scope),
        scope_key=spike.key,
        scope_kind=kind,
        scope=scope,
        status=Incident.Status.OPEN if auto else Incident.Status.PROPOSED,
        opened_automatically=auto,
        spike_count=spike.count,
        spike_window_minutes=spike.window_minutes,
        spike_threshold=spike.threshold,
        baseline_per_hour=spike.baseline_per_hour,
        detected_at=at,
        opened_at=at if auto else None,
        created_at=now,
        updated_at=now,
    )
    IncidentEvent.objects.create(
        incident=incident,
        kind=IncidentEvent.Kind.DETECTED,
        is_public=False,
        to_status=incident.status,
        data={
            "count": spike.count,
            "window_minutes": spike.window_minutes,
            "threshold": spike.threshold,
            "baseline_per_hour": spike.baseline_per_hour,
            "automatic": auto,
        },
        created_at=now,
    )
    audit_record(
        actor=None,
        action=AuditEntry.Action.CREATE,
        target=incident,
        summary=incident.number,
        changes={"scope": spike.key, "status": incident.status},
    )
    logger.warning(
        "incident %s",
        incident.status,
        extra={"incident": incident.number, "scope": spike.key, "count": spike.count},
    )
    return incident


def _recent_tickets_link(incident: Incident, *, at: datetime, minutes: int) -> dict[int, int]:
    """Link the tickets of the last `minutes` in the incident's scope: those that made the spike."""
    since = at - timedelta(minutes=minutes)
    ticket_ids = list(
        DetectorSignal.objects.filter(
            created_at__gte=since, created_at__lte=at, keys__contains=f"|{incident.scope_key}|"
        ).values_list("ticket_id", flat=True)
    )
    linked = incident_tickets_link(incident_id=incident.pk, ticket_ids=ticket_ids)
    first = (
        Incident.objects.filter(pk=incident.pk)
        .values_list("links__ticket_created_at")
        .order_by("links__ticket_created_at")
        .first()
    )
    if first and first[0]:
        Incident.objects.filter(pk=incident.pk).update(first_report_at=first[0])
    return linked


# --- linking and answering tickets ----------------------------------------------------------------


def _reply(ticket: Ticket, *, body: str, purpose: str) -> ContactResult | None:
    """A message on the ticket's own reply route (the channel they wrote on), through the gate."""
    route = ticket_reply_route(ticket)
    if route is None:
        return None
    return contact_request(
        merchant_id=ticket.merchant_id,
        channel=route.channel,
        purpose=purpose,
        recipient=route.recipient,
        body=f"{route.body_prefix}{body}",
        subject=route.subject,
        headers=route.headers,
        ticket_id=ticket.pk,
    )


def _latest_public_update(incident: Incident) -> str:
    return (
        IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.UPDATE, is_public=True)
        .order_by("-created_at", "-id")
        .values_list("body", flat=True)
        .first()
        or ""
    )


def incident_status_text(incident: Incident, *, ticket_number: str = "", latest: str | None = None) -> str:
    """What a reporter is told: the outage is known, where it stands, when it should be over."""
    latest = _latest_public_update(incident) if latest is None else latest
    parts = [
        f"您反映的问题属于我们已知的集中故障（{incident.number}：{incident.title}），技术人员正在处理"
        if incident.status == Incident.Status.OPEN
        else f"您反映的问题属于集中故障（{incident.number}：{incident.title}），已修复，正在观察恢复情况"
    ]
    if incident.eta:
        parts.append(f"预计 {incident.eta.astimezone(SHANGHAI):%m-%d %H:%M} 恢复")
    if latest:
        parts.append(f"最新进展：{latest[:80]}")
    tail = "无需重复报修，恢复后我们会通知您。" + (f"工单号 {ticket_number}。" if ticket_number else "")
    return "，".join(parts) + "。" + tail


def incident_tickets_link(*, incident_id: int, ticket_ids: Sequence[int]) -> dict[int, int]:
    """Link tickets to the incident. If it is open, each newly linked ticket's reporter is told its
    status at once — a service reply (purpose `service_reply`): the merchant has just written to
    us and waits for an answer, so the gate lets it through within the reply window even at night,
    where an `incident_notice` would be held until morning. Returns {ticket_id: incident_id} for the
    tickets linked now to a confirmed incident."""
    return _tickets_link(incident_id=incident_id, ticket_ids=ticket_ids)[1]


def _incident_share_lock(incident_id: int) -> Incident | None:
    """Read the incident under a lock that linkers share and its status changes (`_lock`, FOR
    UPDATE) wait for: nothing is linked to an incident while it is being resolved or dismissed, so
    the settling job that runs after that commit sees every link. SQLite: the write transaction
    already runs alone."""
    if connection.vendor == "postgresql":
        table = _q(Incident._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE {_q('id')} = %s FOR SHARE", [incident_id])  # noqa: S608
    return Incident.objects.filter(pk=incident_id).first()


def _tickets_link(*, incident_id: int, ticket_ids: Sequence[int]) -> tuple[list[int], dict[int, int]]:
    """`incident_tickets_link`; also the ids of every ticket linked now (a proposal's too)."""
    if not ticket_ids:
        return [], {}
    now = timezone.now()
    with transaction.atomic():
        incident = _incident_share_lock(incident_id)
        if incident is None or incident.status not in ACTIVE_STATUSES:
            return [], {}
        tickets = list(Ticket.objects.filter(pk__in=sorted(set(ticket_ids))).select_related("merchant"))
        inserted = _links_insert(incident.pk, tickets, now)
        if not inserted:
            return [], {}
        fresh = [t for t in tickets if t.pk in inserted]
        # the linked tickets are explained: the detector no longer counts them as evidence of another spike
        explained = Counter[tuple[str, int]]()
        for keys, created_at in DetectorSignal.objects.filter(ticket_id__in=sorted(inserted)).values_list(
            "keys", "created_at"
        ):
            for key in keys.strip("|").split("|"):
                explained[(EXPLAINED + key, detector.minute_of(created_at))] += 1
        _counts_add(explained.items())
        if incident.status not in CONFIRMED_STATUSES:
            return [t.pk for t in fresh], {}
        latest = _latest_public_update(incident)
        notified = []
        for ticket in fresh:
            result = _reply(
                ticket,
                body=incident_status_text(incident, ticket_number=ticket.number, latest=latest),
                purpose=ContactPurpose.SERVICE_REPLY,
            )
            if result is not None and result.message is not None:
                notified.append(ticket.pk)
        if notified:
            IncidentTicket.objects.filter(ticket_id__in=notified).update(notified_at=now)
        return [t.pk for t in fresh], {t.pk: incident.pk for t in fresh}


# --- the supervisor's actions ---------------------------------------------------------------------

TRANSITIONS: dict[str, frozenset[str]] = {
    Incident.Status.PROPOSED: frozenset({Incident.Status.OPEN, Incident.Status.DISMISSED}),
    Incident.Status.OPEN: frozenset({Incident.Status.MONITORING, Incident.Status.RESOLVED}),
    Incident.Status.MONITORING: frozenset({Incident.Status.OPEN, Incident.Status.RESOLVED}),
    Incident.Status.RESOLVED: frozenset(),
    Incident.Status.DISMISSED: frozenset(),
}
MANAGER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
MAX_BODY = 1000


def can_manage(user: User) -> bool:
    return user.role in MANAGER_ROLES


def _check_manager(actor: User) -> None:
    if not can_manage(actor):
        raise PermissionDenied(
            gettext_lazy("Incidents are managed by supervisors and admins."),
            code="incident_manage_not_allowed",
        )


def _lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


def _clean_body(body: str, *, required: bool = True) -> str:
    body = without_nul(body).strip()
    if required and not body:
        raise field_error("body", gettext_lazy("Please write the update."), code="body_required")
    if len(body) > MAX_BODY:
        raise field_error(
            "body",
            gettext_lazy("The text is longer than %(max)d characters.") % {"max": MAX_BODY},
            code="body_too_long",
        )
    return body


def _event(
    incident: Incident,
    *,
    kind: str,
    actor: User | None,
    at: datetime,
    body: str = "",
    is_public: bool = False,
    broadcast: bool = False,
    **fields: object,
) -> IncidentEvent:
    event = IncidentEvent.objects.create(
        incident=incident,
        kind=kind,
        actor=actor,
        body=body,
        is_public=is_public,
        broadcast=broadcast,
        created_at=at,
        **fields,
    )
    if broadcast:
        from posdesk.incidents.tasks import incident_broadcast_task

        transaction.on_commit(lambda: incident_broadcast_task.delay(event.pk))
    return event


def _touch(incident: Incident, at: datetime, fields: list[str]) -> None:
    incident.updated_at = at
    incident.save(update_fields=["updated_at", *fields])


@transaction.atomic
def incident_set_status(*, incident: Incident, actor: User, to_status: str, note: str = "") -> IncidentEvent:
    """Confirm a proposal (→ open: its reporters are told, one message per merchant), dismiss it
    (its tickets stay in the queue, the scope stays quiet a while), or move between open and
    monitoring. Resolving is `incident_resolve`."""
    _check_manager(actor)
    incident = _lock(incident)
    if to_status not in Incident.Status.values:
        raise field_error("to_status", gettext_lazy("Unknown status."), code="invalid_status")
    if to_status == Incident.Status.RESOLVED:
        raise field_error(
            "to_status", gettext_lazy("Resolve the incident with its own action."), code="use_resolve"
        )
    if to_status not in TRANSITIONS[incident.status]:
        raise Conflict(
            gettext_lazy("An incident cannot go from “%(from)s” to “%(to)s”.")
            % {"from": Incident.Status(incident.status).label, "to": Incident.Status(to_status).label},
            code="illegal_incident_transition",
            detail={
                "from": incident.status,
                "to": to_status,
                "allowed": sorted(TRANSITIONS[incident.status]),
            },
        )
    now = timezone.now()
    from_status, incident.status = incident.status, to_status
    fields = ["status"]
    if to_status == Incident.Status.OPEN and from_status == Incident.Status.PROPOSED:
        incident.opened_at, incident.confirmed_by = now, actor
        fields += ["opened_at", "confirmed_by"]
    elif to_status == Incident.Status.DISMISSED:
        incident.dismissed_at = now
        fields.append("dismissed_at")
        incident.links.filter(released_at__isnull=True).update(released_at=now)
        from posdesk.tickets.routing import routing_kick

        transaction.on_commit(routing_kick)  # its tickets were held from routing: now they are routed
    _touch(incident, now, fields)
    note = _clean_body(note, required=False)
    confirmed = from_status == Incident.Status.PROPOSED and to_status == Incident.Status.OPEN
    event = _event(
        incident,
        kind=IncidentEvent.Kind.STATUS_CHANGED,
        actor=actor,
        at=now,
        from_status=from_status,
        to_status=to_status,
        body=note,
        is_public=confirmed or to_status == Incident.Status.MONITORING,
        broadcast=confirmed,
    )  # the reporters so far learn it is a known outage
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        target=incident,
        summary=incident.number,
        changes={"status": [from_status, to_status]},
    )
    return event


@transaction.atomic
def incident_update_post(
    *, incident: Incident, actor: User, body: str, public: bool = True, broadcast: bool = False
) -> IncidentEvent:
    """A public update (shown to reporters from now on; `broadcast` also sends it to every affected
    merchant, one message each, through the contact gate) or an internal note."""
    _check_manager(actor)
    incident = _lock(incident)
    body = _clean_body(body)
    if incident.status not in ACTIVE_STATUSES and (broadcast or public):
        raise Conflict(
            gettext_lazy("This incident is closed; add an internal note instead."), code="incident_closed"
        )
    if broadcast and not public:
        raise field_error(
            "broadcast", gettext_lazy("Only a public update can be broadcast."), code="broadcast_internal"
        )
    now = timezone.now()
    _touch(incident, now, [])
    return _event(
        incident,
        kind=IncidentEvent.Kind.UPDATE if public else IncidentEvent.Kind.NOTE,
        actor=actor,
        at=now,
        body=body,
        is_public=public,
        broadcast=broadcast,
    )


@transaction.atomic
def incident_set_eta(
    *, incident: Incident, actor: User, eta: datetime | None, broadcast: bool = False
) -> IncidentEvent:
    _check_manager(actor)
    incident = _lock(incident)
    if incident.status not in ACTIVE_STATUSES:
        raise Conflict(gettext_lazy("This incident is closed."), code="incident_closed")
    now = timezone.now()
    if eta is not None and timezone.is_naive(eta):
        eta = timezone.make_aware(eta, SHANGHAI)  # a time without a zone is Hangzhou's wall clock
    if eta is not None and (eta <= now or eta.year > 9000):  # 9000: far enough; the calendar's end overflows
        raise field_error(
            "eta", gettext_lazy("The expected recovery must be in the future."), code="eta_past"
        )
    before, incident.eta = incident.eta, eta
    _touch(incident, now, ["eta"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        target=incident,
        summary=incident.number,
        changes={"eta": [str(before) if before else None, str(eta) if eta else None]},
    )
    body = f"预计 {eta.astimezone(SHANGHAI):%m-%d %H:%M} 恢复。" if eta else ""
    return _event(
        incident,
        kind=IncidentEvent.Kind.ETA,
        actor=actor,
        at=now,
        body=body,
        is_public=True,
        # an ETA taken back has nothing to tell the merchants
        broadcast=broadcast and eta is not None and incident.status in CONFIRMED_STATUSES,
        data={"eta": eta.isoformat() if eta else None},
    )


@transaction.atomic
def incident_resolve(*, incident: Incident, actor: User, resolution: str, message: str = "") -> IncidentEvent:
    """End the outage. Its open tickets are then, as the supervisor chose: resolved (`resolve`),
    put to their merchants for confirmation (`confirm`: pending acceptance, the lifecycle's own
    confirmation flow), or released to the queue to be worked one by one (`release`). That runs
    after the commit, in the background (thousands of tickets). `message`, if given, is broadcast
    to every affected merchant."""
    _check_manager(actor)
    incident = _lock(incident)
    if resolution not in Incident.Resolution.values:
        raise field_error(
            "resolution",
            gettext_lazy("Choose what happens to the incident's tickets."),
            code="invalid_resolution",
        )
    if Incident.Status.RESOLVED not in TRANSITIONS[incident.status]:
        raise Conflict(
            gettext_lazy("Only an open or monitored incident can be resolved."), code="incident_not_open"
        )
    message = _clean_body(message, required=False)
    now = timezone.now()
    from_status = incident.status
    incident.status, incident.resolved_at, incident.resolved_by = Incident.Status.RESOLVED, now, actor
    incident.resolution = resolution
    _touch(incident, now, ["status", "resolved_at", "resolved_by", "resolution"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        target=incident,
        summary=incident.number,
        changes={"status": [from_status, Incident.Status.RESOLVED], "resolution": resolution},
    )
    event = _event(
        incident,
        kind=IncidentEvent.Kind.RESOLVED,
        actor=actor,
        at=now,
        body=message,
        is_public=True,
        broadcast=bool(message),
        from_status=from_status,
        to_status=Incident.Status.RESOLVED,
        data={"resolution": resolution},
    )
    from posdesk.incidents.tasks import incident_tickets_settle_task

    transaction.on_commit(lambda: incident_tickets_settle_task.delay(incident.pk))
    return event


def incident_tickets_settle(*, incident_id: int) -> dict[str, int]:
    """Apply a resolved incident's choice to its tickets, one transaction per ticket (a crash
    resumes where it stopped: done tickets are released; the hourly upkeep runs it again for a
    job that never finished). A ticket whose state does not allow the move (an on-site visit
    under way) is released to the queue as it is. Then the settled tickets still open are routed:
    until now routing left them to the incident."""
    from posdesk.tickets.services import ticket_transition

    incident = Incident.objects.select_related("resolved_by").get(pk=incident_id)
    if incident.status != Incident.Status.RESOLVED:
        return {}
    actor = incident.resolved_by  # nobody to act for (the user was deleted): the tickets are released
    done = Counter[str]()
    settled: list[int] = []
    reason = f"集中故障 {incident.number} 已恢复"
    resolution = Incident.Resolution(incident.resolution)
    for link_id, ticket_id in (
        incident.links.filter(released_at__isnull=True).order_by("pk").values_list("pk", "ticket_id")
    ):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
            steps = _settle_steps(resolution, ticket.status) if actor is not None else []
            outcome = "released"
            try:
                with transaction.atomic():  # half a move is no move: then an agent takes the ticket
                    for to_status in steps:
                        ticket_transition(ticket=ticket, actor=actor, to_status=to_status, reason=reason)
                if steps:
                    outcome = "resolved" if steps[-1] == Status.RESOLVED else "confirmation_asked"
            except (Conflict, PermissionDenied, ValidationFailed):
                outcome = "released"
            IncidentTicket.objects.filter(pk=link_id).update(released_at=timezone.now())
            done[outcome] += 1
            settled.append(ticket_id)
    if settled:
        # held while the incident lasted (routing skips a ticket an incident holds): the tickets
        # still open now go to the queues like any other, most urgent first
        from posdesk.tickets.routing import tickets_route_burst

        tickets_route_burst(ticket_ids=settled)
    return dict(done)


def _settle_steps(resolution: str, status: str) -> list[str]:
    """The ticket moves a resolution makes from `status`; none: the ticket is only released."""
    if (
        resolution == Incident.Resolution.RESOLVE
        and lifecycle.is_legal(status, Status.RESOLVED)
        and status not in (Status.RESOLVED, Status.CLOSED)
    ):
        return [Status.RESOLVED]
    if resolution == Incident.Resolution.CONFIRM:
        if status in (Status.NEW, Status.TRIAGED, Status.WAITING_MERCHANT):
            return [Status.IN_PROGRESS, Status.PENDING_ACCEPTANCE]
        if status in (Status.IN_PROGRESS, Status.ONSITE_IN_PROGRESS):
            return [Status.PENDING_ACCEPTANCE]
    return []


def incident_broadcast(*, event_id: int) -> int:
    """Send a broadcast update to every merchant with a ticket in the incident — one message per
    merchant, on the route of their latest ticket in it, purpose `incident_notice`, all decided
    by the contact gate in one batch (opt-outs and caps respected; do-not-disturb still lets an
    incident notice through, as the gate's rules say). Runs once per event.

    The confirmation of a proposal is the answer its reporters have been waiting for: it goes to
    the merchants with a ticket still held by the incident whose reporter was not told yet, and
    marks those tickets told (`notified_at`) when the gate let the message through — as a reporter
    linked to an open incident is told at once. A merchant told already (a ticket linked after the
    confirmation, before this job ran, was answered on its own) is not told twice."""
    with transaction.atomic():
        event = (
            IncidentEvent.objects.select_for_update(of=("self",))
            .select_related("incident", "actor")
            .get(pk=event_id)
        )
        if not event.broadcast or event.broadcast_done_at is not None:
            return 0
        incident = event.incident
        links = incident.links.filter(merchant__isnull=False)
        confirmation = (
            event.kind == IncidentEvent.Kind.STATUS_CHANGED
            and event.from_status == Incident.Status.PROPOSED
            and event.to_status == Incident.Status.OPEN
        )
        if confirmation:
            told = links.filter(notified_at__isnull=False).values("merchant_id")
            links = links.filter(notified_at__isnull=True, released_at__isnull=True).exclude(
                merchant_id__in=told
            )
        latest = dict(
            links.values("merchant_id").annotate(last=Max("ticket_id")).values_list("merchant_id", "last")
        )
        tickets = Ticket.objects.filter(pk__in=sorted(latest.values())).select_related("merchant")
        body = _broadcast_text(incident, event)
        drafts = []
        for ticket in tickets:
            route = ticket_reply_route(ticket)
            if route is None:
                continue
            drafts.append(
                ContactDraft(
                    merchant_id=ticket.merchant_id,
                    channel=route.channel,
                    purpose=ContactPurpose.INCIDENT_NOTICE,
                    recipient=route.recipient,
                    body=f"{route.body_prefix}{body}",
                    subject=route.subject,
                    ticket_id=ticket.pk,
                    headers=route.headers,
                )
            )
        results = contact_request_many(drafts, actor=event.actor) if drafts else []
        reached = sorted(
            draft.merchant_id for draft, r in zip(drafts, results, strict=True) if r.message is not None
        )
        now = timezone.now()
        if confirmation and reached:
            links.filter(merchant_id__in=reached).update(notified_at=now)
        event.broadcast_done_at = now
        event.broadcast_merchants, event.broadcast_sent = len(latest), len(reached)
        event.save(update_fields=["broadcast_done_at", "broadcast_merchants", "broadcast_sent"])
        return len(reached)


def _broadcast_text(incident: Incident, event: IncidentEvent) -> str:
    if event.kind == IncidentEvent.Kind.RESOLVED:
        return f"集中故障 {incident.number}（{incident.title}）已恢复。{event.body}"
    if event.kind == IncidentEvent.Kind.STATUS_CHANGED:
        return incident_status_text(incident)
    if event.kind == IncidentEvent.Kind.ETA:
        return f"集中故障 {incident.number}（{incident.title}）：{event.body}"
    return f"集中故障 {incident.number}（{incident.title}）最新进展：{event.body}"


# --- the detector's upkeep: roll-ups, retention, baselines ---------------------------------------

MINUTE_COUNTS_KEPT = timedelta(hours=2)
SIGNALS_KEPT = timedelta(hours=1)


def detector_upkeep(*, now: datetime | None = None) -> dict[str, int]:
    """Hourly (beat): first the repairs a stopped worker may have left — tickets counted but not
    linked (`incident_links_recover`, before their signals are dropped) and resolved incidents
    whose tickets were not all settled; then roll minute counts older than two hours into hour
    counts and drop them; drop old signals and hour counts past the baseline's weeks; refresh the
    baselines."""
    now = now or timezone.now()
    recovered = incident_links_recover(now=now)
    held = IncidentTicket.objects.filter(incident_id=OuterRef("pk"), released_at__isnull=True)
    unsettled = list(
        Incident.objects.filter(
            Exists(held), status=Incident.Status.RESOLVED, resolved_at__lt=now - LINKS_RECOVER_GRACE
        )
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    for incident_id in unsettled:
        incident_tickets_settle(incident_id=incident_id)
    return {"links_recovered": recovered, "incidents_settled": len(unsettled), **_detector_rollup(now=now)}


@transaction.atomic
def _detector_rollup(*, now: datetime) -> dict[str, int]:
    cutoff_minute = detector.minute_of(now - MINUTE_COUNTS_KEPT)
    cutoff_minute -= cutoff_minute % 60  # whole hours only, so an hour is rolled up once
    old = DetectorCount.objects.filter(minute__lt=cutoff_minute)
    hours = Counter[tuple[str, int]]()
    for key, minute, count in old.values_list("key", "minute", "count").iterator(chunk_size=5000):
        # a baseline is the usual volume: tickets an incident explained are not part of it
        if key.startswith(EXPLAINED):
            hours[(key.removeprefix(EXPLAINED), minute // 60)] -= count
        else:
            hours[(key, minute // 60)] += count
    _counts_add([(slot, n) for slot, n in hours.items() if n > 0], model=DetectorHourCount, slot="hour")
    rolled, _ = DetectorCount.objects.filter(minute__lt=cutoff_minute).delete()
    signals, _ = DetectorSignal.objects.filter(created_at__lt=now - SIGNALS_KEPT).delete()
    weeks = settings.INCIDENT_BASELINE_WEEKS
    oldest_hour = int(now.timestamp() // 3600) - weeks * 168
    DetectorHourCount.objects.filter(hour__lt=oldest_hour).delete()
    return {
        "minute_rows_rolled": rolled,
        "signals_dropped": signals,
        "baselines": detector_baselines_refresh(now=now),
    }


def detector_baselines_refresh(*, now: datetime | None = None) -> int:
    """A key's baseline at an hour of the week: its mean count in that hour over the weeks of
    history there are (at most INCIDENT_BASELINE_WEEKS). Computed in the database: one grouped
    read whatever the history's size."""
    now = now or timezone.now()
    weeks = settings.INCIDENT_BASELINE_WEEKS
    now_hour = int(now.timestamp() // 3600)
    since = now_hour - weeks * 168
    history = DetectorHourCount.objects.filter(hour__gte=since, hour__lt=now_hour)
    first = history.aggregate(first=Min("hour"))["first"]
    if first is None:
        with transaction.atomic():
            DetectorBaseline.objects.all().delete()
        return 0
    seen_weeks = max(1, min(weeks, round((now_hour - first) / 168)))  # whole weeks of history there are
    # epoch hour 0 is Thursday 08:00 in Shanghai: hour-of-week = (hour + 80) mod 168
    rows = (
        history.annotate(how=Mod(F("hour") + 80, 168))
        .values("key", "how")
        .annotate(total=Sum("count"))
        .values_list("key", "how", "total")
    )
    baselines = [
        DetectorBaseline(key=key, hour_of_week=int(how), per_hour=total / seen_weeks, refreshed_at=now)
        for key, how, total in rows
    ]
    with transaction.atomic():
        DetectorBaseline.objects.all().delete()
        DetectorBaseline.objects.bulk_create(baselines, batch_size=2000)
    return len(baselines)


def detector_history_import(*, since: datetime, until: datetime | None = None) -> int:
    """Seed the hour counts from the tickets already in the database (a new installation with a
    history): category, category × district, terminal model and model × firmware. Response codes
    are in the tickets' words, read by triage as tickets come; their baselines fill in from the
    live stream (until then the floor holds). Returns the hour rows written."""
    until = until or timezone.now()
    hours = Counter[tuple[str, int]]()
    # read row by row (a one-off seeding): the hour of each ticket is computed here, the same way
    # on both databases, rather than by each database's own date truncation
    rows = (
        Ticket.objects.filter(created_at__gte=since, created_at__lt=until)
        .values_list("category", "district_id", "terminal__model_id", "terminal__firmware", "created_at")
        .order_by()
    )
    for category, district_id, model_id, firmware, created_at in rows.iterator(chunk_size=10000):
        hour = int(created_at.timestamp() // 3600)
        for key in detector.signal_keys(
            category=category,
            district_id=district_id,
            terminal_model_id=model_id,
            firmware=firmware or "",
            response_codes=(),
        ):
            hours[(key, hour)] += 1
    with transaction.atomic():
        _counts_add(hours.items(), model=DetectorHourCount, slot="hour")
    return len(hours)
