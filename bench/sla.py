#!/usr/bin/env python
"""posdesk benchmarks: SLA business time — how many deadlines a second one process computes.

Scenarios (run with --scenarios, comma-separated; each is one function in SCENARIOS):

  arithmetic   no database. Builds the standard clock (09:00–12:00, 13:00–18:00 Asia/Shanghai on
               the statutory calendar with its holidays and 调休 working days), draws --count
               seeded random start instants over 2024–2026 and targets from {15, 30, 120, 480,
               1440, 2400} business minutes, then times, in this one process,
                 - add_minutes(start, target): the deadline computation the ticket service and
                   the sweep run for every ticket (target ≥ 100,000 a second);
                 - add(start, timedelta): the same through a timedelta, as `clocks.deadlines` does;
                 - between(start, deadline): business time used, as the queue and reports show it.
               Each is repeated --repeat times; the median run is reported. Every deadline is
               checked once (between(start, deadline) == target) before timing.

    .venv/bin/python bench/sla.py                                   # arithmetic, 200,000 × 5
    .venv/bin/python bench/sla.py --scenarios arithmetic --json /tmp/sla.json
    .venv/bin/python bench/sla.py --count 20000 --repeat 3          # a quick look

Figures depend on the machine and on what else runs on it; see bench/RESULTS.md."""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from posdesk.slas.business_time import BusinessClock, WorkingHours  # noqa: E402
from posdesk.slas.calendars import statutory_rule  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
STANDARD_HOURS = "09:00-12:00,13:00-18:00"
TARGET_MINUTES = (15, 30, 120, 480, 1440, 2400)
FIRST_START = datetime(2024, 1, 1, tzinfo=SHANGHAI)
LAST_START = datetime(2027, 1, 1, tzinfo=SHANGHAI)


# --- results --------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    operation: str
    count: int
    seconds: float  # the median run
    rate: float  # operations a second in the median run
    us_per_op: float
    runs: list[float] = field(default_factory=list)  # every run's rate
    note: str = ""


def print_table(results: list[Result], out: Any = sys.stdout) -> None:
    header = (
        f"{'scenario':<12} {'operation':<36} {'count':>9} {'median s':>9} {'ops/s':>10} {'µs/op':>7}  note"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in results:
        print(
            f"{r.scenario:<12} {r.operation:<36} {r.count:>9} {r.seconds:>9.3f} {r.rate:>10.0f} "
            f"{r.us_per_op:>7.2f}  {r.note}",
            file=out,
        )


def timed(
    label: str, scenario: str, count: int, repeat: int, run: Callable[[], object], note: str = ""
) -> Result:
    """Run `run` `repeat` times with the garbage collector quiet; report the median run."""
    seconds = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            began = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - began)
        finally:
            gc.enable()
    median = statistics.median(seconds)
    return Result(
        scenario=scenario,
        operation=label,
        count=count,
        seconds=median,
        rate=count / median,
        us_per_op=median / count * 1e6,
        runs=[round(count / s) for s in seconds],
        note=note,
    )


# --- scenarios ------------------------------------------------------------------------------


def arithmetic(args: argparse.Namespace) -> list[Result]:
    began = time.perf_counter()
    clock = BusinessClock(WorkingHours.parse(STANDARD_HOURS), statutory_rule())
    layout_ms = (time.perf_counter() - began) * 1000

    rng = random.Random(args.seed)
    span = int((LAST_START - FIRST_START).total_seconds())
    starts = [FIRST_START + timedelta(seconds=rng.randrange(span)) for _ in range(args.count)]
    targets = [rng.choice(TARGET_MINUTES) for _ in range(args.count)]
    durations = [timedelta(minutes=m) for m in targets]
    jobs = list(zip(starts, targets, strict=True))
    timedelta_jobs = list(zip(starts, durations, strict=True))

    add_minutes, add, between = clock.add_minutes, clock.add, clock.between
    due = [add_minutes(start, minutes) for start, minutes in jobs]  # also warms the layout
    spans = list(zip(starts, due, strict=True))
    wrong = sum(1 for (start, end), d in zip(spans, durations, strict=True) if between(start, end) != d)
    if wrong:
        raise SystemExit(f"arithmetic: {wrong} deadlines do not measure their target back")

    def run_add_minutes() -> None:
        for start, minutes in jobs:
            add_minutes(start, minutes)

    def run_add() -> None:
        for start, duration in timedelta_jobs:
            add(start, duration)

    def run_between() -> None:
        for start, end in spans:
            between(start, end)

    def run_loop() -> None:  # the bare loop, to show what the figures include
        for _start, _minutes in jobs:
            pass

    note = f"layout {layout_ms:.0f} ms"
    return [
        timed("add_minutes (deadline)", "arithmetic", args.count, args.repeat, run_add_minutes, note),
        timed("add (timedelta)", "arithmetic", args.count, args.repeat, run_add),
        timed("between (business time used)", "arithmetic", args.count, args.repeat, run_between),
        timed("empty loop (overhead)", "arithmetic", args.count, args.repeat, run_loop),
    ]


# --- scenarios on a database (sweep, assign) -------------------------------------------------
# They run in a child process per database (Django is set up once per process), on a database of
# --tickets tickets prepared by `posdesk demo --tickets N` under --data-dir (never the repository),
# and measure inside a transaction that is rolled back, so every run starts from the same state.

DB_SCENARIOS = ("sweep", "assign")
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/posdesk_bench_sla"


def _child_env(db: str, args: argparse.Namespace) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["POSDESK_DATA_DIR"] = str(Path(args.data_dir) / db)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["POSDESK_LOG_LEVEL"] = "WARNING"
    env["PYTHONPATH"] = str(ROOT)
    if db == "postgres":
        env["DATABASE_URL"] = args.pg_url
    else:
        env.pop("DATABASE_URL", None)
    return env


def run_on_databases(names: list[str], args: argparse.Namespace) -> list[Result]:
    import subprocess
    import tempfile

    results: list[Result] = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        if db == "postgres":
            problem = _postgres_ensure(args.pg_url)
            if problem:
                print(f"[postgres] skipped: {problem}")
                continue
        Path(args.data_dir, db).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, str(Path(__file__).resolve()), "--child", db, "--scenarios", ",".join(names),
                       "--tickets", str(args.tickets), "--json", out.name]
            subprocess.run(command, env=_child_env(db, args), check=True)  # noqa: S603 - our own script
            payload = json.loads(Path(out.name).read_text(encoding="utf-8"))
        results += [Result(**r) for r in payload["results"]]
    return results


def _postgres_ensure(url: str) -> str | None:
    """Create the bench database if PostgreSQL answers; a reason to skip otherwise."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    name = url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True, connect_timeout=3) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer ({exc.__class__.__name__})"
    return None


class _Rollback(Exception):
    pass


def _in_rollback(work: Callable[[], Any]) -> Any:
    from django.db import transaction

    box: dict[str, Any] = {}
    try:
        with transaction.atomic():
            box["value"] = work()
            raise _Rollback
    except _Rollback:
        pass
    return box["value"]


def _prepare(db: str, args: argparse.Namespace) -> dict[str, Any]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--noinput", verbosity=0)
    print(f"[{db}] preparing: demo --tickets {args.tickets:,} (idempotent) in {Path(args.data_dir) / db}", flush=True)
    call_command("demo", "--tickets", str(args.tickets), "--no-logins")
    from posdesk.core.taxonomy import OPEN_STATUSES
    from posdesk.tickets.models import Ticket

    return {"tickets": Ticket.objects.count(),
            "open": Ticket.objects.filter(status__in=sorted(OPEN_STATUSES)).count(),
            "watched": Ticket.objects.filter(sla_next_check_at__isnull=False).count()}


def sweep(db: str, args: argparse.Namespace, facts: dict[str, Any]) -> list[Result]:
    """The escalation sweep as beat runs it each minute: the first run catches up whatever came due
    since the data was made; then ten one-minute steps; then a run with nothing due."""
    from django.utils import timezone

    from posdesk.tickets.escalation import sla_sweep

    now = timezone.now()

    def sweeps() -> list[tuple[float, dict[str, int]]]:
        timings = []
        for minute in [0, *range(1, 11)]:
            began = time.perf_counter()
            counts = sla_sweep(now=now + timedelta(minutes=minute))
            timings.append((time.perf_counter() - began, counts))
        began = time.perf_counter()
        counts = sla_sweep(now=now + timedelta(minutes=10))  # nothing new is due
        timings.append((time.perf_counter() - began, counts))
        began = time.perf_counter()
        counts = sla_sweep(now=now + timedelta(hours=8))  # a worker down for a working day
        timings.append((time.perf_counter() - began, counts))
        return timings

    timings = _in_rollback(sweeps)
    catch_up, steps, idle, backlog = timings[0], timings[1:-2], timings[-2], timings[-1]
    step_seconds = [t for t, _ in steps]
    checked = sum(c["checked"] for _, c in steps)
    base = f"{facts['tickets']:,} tickets, {facts['open']:,} open, {facts['watched']:,} watched"

    def result(label: str, seconds: float, count: int, note: str) -> Result:
        return Result(scenario=f"sweep/{db}", operation=label, count=count, seconds=seconds,
                      rate=count / seconds if seconds else 0.0, us_per_op=seconds / max(count, 1) * 1e6, note=note)

    return [
        result("first sweep (catch-up)", catch_up[0], catch_up[1]["checked"],
               f"{catch_up[1]['escalations']} escalations; {base}"),
        result("one-minute sweep, median of 10", statistics.median(step_seconds), checked // len(steps),
               f"max {max(step_seconds):.3f} s; {checked} tickets checked in 10 min"),
        result("sweep with nothing due", idle[0], idle[1]["checked"], "the index read alone"),
        result("8 hours' backlog in one sweep", backlog[0], backlog[1]["checked"],
               f"{backlog[1]['escalations']} escalations"),
    ]


def assign(db: str, args: argparse.Namespace, facts: dict[str, Any]) -> list[Result]:
    """A burst of 10,000 new tickets routed to 200 online agents of one team (capacity 100 each)."""
    from django.db.models import Count
    from django.utils import timezone

    from posdesk.accounts.models import Organisation, Role, Team, User
    from posdesk.core.taxonomy import Category, Status
    from posdesk.routing.models import AgentStatus, TeamSkills
    from posdesk.tickets.models import Ticket
    from posdesk.tickets.routing import tickets_route_burst

    def burst() -> tuple[float, list[int], dict[str, int]]:
        org = Organisation.objects.filter(kind=Organisation.Kind.SERVICE_COMPANY).first() or Organisation.objects.first()
        team = Team.objects.create(organisation=org, code="bench-burst", name="Burst team")
        TeamSkills.objects.create(team=team)  # every category
        TeamSkills.objects.exclude(team=team).update(is_active=False)  # the burst is this team's alone
        agents = User.objects.bulk_create([User(username=f"bench-agent-{i}", role=Role.AGENT, display_name=f"坐席{i}")
                                           for i in range(200)])
        team.members.add(*agents)
        AgentStatus.objects.bulk_create([AgentStatus(user=a, presence=AgentStatus.Presence.ONLINE, capacity=100)
                                         for a in agents])
        now = timezone.now()
        rng = random.Random(args.seed)
        categories = [c for c in Category.values if c != Category.SERVICE_COMPLAINT]
        tickets = Ticket.objects.bulk_create([
            Ticket(number=f"B{i:09d}", channel="api", category=rng.choice(categories), priority="P3",
                   status=Status.NEW, subject="burst", description="burst", created_at=now, updated_at=now,
                   sla_due_at=now + timedelta(minutes=rng.randrange(1, 600)))
            for i in range(10_000)], batch_size=1000)
        ids = [t.pk for t in tickets] if tickets[0].pk else list(
            Ticket.objects.filter(number__startswith="B0").order_by("id").values_list("id", flat=True))
        began = time.perf_counter()
        counts = tickets_route_burst(ticket_ids=ids)
        seconds = time.perf_counter() - began
        loads = list(Ticket.objects.filter(assignee__in=agents).values("assignee").annotate(n=Count("id"))
                     .values_list("n", flat=True))
        return seconds, loads, counts

    seconds, loads, counts = _in_rollback(burst)
    if not loads:
        raise SystemExit(f"assign/{db}: nothing was assigned ({counts})")
    fairness = max(loads) / min(loads) if len(loads) == 200 else float("inf")
    return [Result(scenario=f"assign/{db}", operation="burst of 10,000 tickets to 200 agents", count=10_000,
                   seconds=seconds, rate=10_000 / seconds, us_per_op=seconds / 10_000 * 1e6,
                   note=f"assigned {counts['assigned']}, waiting {counts['waiting']}; loads {min(loads)}–{max(loads)}"
                        f" per agent, max/min {fairness:.2f}")]


def child(db: str, args: argparse.Namespace) -> list[Result]:
    facts = _prepare(db, args)
    results: list[Result] = []
    for name in args.scenario_names:
        results += {"sweep": sweep, "assign": assign}[name](db, args, facts)
    return results


SCENARIOS: dict[str, Callable[[argparse.Namespace], list[Result]]] = {
    "arithmetic": arithmetic,
    "sweep": lambda args: [],  # run per database by run_on_databases
    "assign": lambda args: [],
}


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenarios",
        default="arithmetic,sweep,assign",
        help=f"comma-separated, of: {', '.join(SCENARIOS)} (default all)",
    )
    parser.add_argument("--count", type=int, default=200_000, help="operations per run (default 200,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per operation; the median is reported")
    parser.add_argument("--seed", type=int, default=20240929, help="seed of the random instants and targets")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both",
                        help="database(s) for sweep and assign (default both; PostgreSQL when it answers)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL database for sweep and assign")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets in the database (sweep, assign)")
    parser.add_argument("--data-dir", default="/tmp/posdesk-bench-sla", help="where the databases live")  # noqa: S108
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.scenario_names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = [name for name in args.scenario_names if name not in SCENARIOS]
    if unknown or not args.scenario_names:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
    if args.count < 1 or args.repeat < 1:
        parser.error("--count and --repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"posdesk SLA bench — Python {platform.python_version()} on {platform.machine()}, "
        f"{args.count:,} operations × {args.repeat} runs, seed {args.seed}"
    )
    if args.child:
        results = child(args.child, args)
        Path(args.json).write_text(json.dumps({"results": [asdict(r) for r in results]}) + "\n", encoding="utf-8")
        return 0
    results: list[Result] = []
    for name in args.scenario_names:
        results.extend(SCENARIOS[name](args))
    on_databases = [name for name in args.scenario_names if name in DB_SCENARIOS]
    if on_databases:
        results.extend(run_on_databases(on_databases, args))
    print()
    print_table(results)
    if args.json:
        payload = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "count": args.count,
            "repeat": args.repeat,
            "seed": args.seed,
            "results": [asdict(r) for r in results],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
