#!/usr/bin/env python
"""posdesk benchmarks: the incident detector (C7) — its cost per new ticket (target ≤ 1 ms).

The detector keeps its state in the database (per-minute counters per key, shared by every
worker), so it is measured against a real database, on SQLite and on PostgreSQL, each in its own
Django process (`posdesk migrate` first; SQLite under --data-dir, PostgreSQL at --pg-url, created
if missing). Untimed preparation, once per database:

- history: --history tickets (default 1,000,000) over the last --weeks weeks (default 8), drawn
  over 13 districts, 10 categories, 12 terminal models × 4 firmwares and 40 response codes (a
  third of the tickets name one), rolled up into the hour counts the detector's upkeep keeps;
  then the baselines are refreshed from them (timed and printed: `detector_baselines_refresh`);
- the last two hours of per-minute counters, as a stream at --rate tickets/s (default 50) leaves them;
- the stream itself: --stream ticket rows (default 15,000 = five minutes at 50/s) created at
  --rate per second up to now.

Timed: `incidents_observe` over the stream, as the coalesced intake job calls it — in batches of
--batch tickets (default 10: a 0.2 s coalescing window at 50/s) and one ticket at a time (the worst
case: a job per ticket). The spike floor is raised for this part so that no incident opens: this
is the detector's own cost — record the tickets' keys (once per ticket), add them to the
counters, read the active incidents, the windows' counts and the hour's baselines. Printed: the
cost per ticket (total / tickets) and the p50 / p99 of one call.

Then the spike path with the default rule: --burst tickets (default 2,000) of one response code
from one district at --rate: one incident opens, the tickets that made it are linked, and every
later one is linked and its reporter answered (a contact-gate decision and an outbox message per
ticket). Printed: the cost per ticket of that path (it includes the answer, not only detection).

    .venv/bin/python bench/incidents.py                      # both databases, 1,000,000 history
    .venv/bin/python bench/incidents.py --db sqlite --history 100000 --stream 3000   # a quick look

Figures depend on the machine and on what else runs on it; see bench/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CATEGORIES = ("hardware", "software", "network", "transaction", "settlement", "fees", "account", "installation",
              "consultation", "service_complaint")
CODES = tuple(f"{n:02d}" for n in range(1, 31)) + ("A0", "A1", "A2", "A3", "Z1", "Z2", "Z3", "N1", "N2", "96")
MODELS = 12
FIRMWARES = ("V1.0.3", "V2.1.7", "V2.3.1", "V3.0.0")


def draw(rng: random.Random, districts: list[int]) -> tuple[str, int, int, str, tuple[str, ...]]:
    codes = (rng.choice(CODES),) if rng.random() < 1 / 3 else ()
    return (rng.choice(CATEGORIES), rng.choice(districts), rng.randrange(MODELS), rng.choice(FIRMWARES), codes)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- in the Django process --------------------------------------------------------------------

def prepare(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    from django.db import connection

    from posdesk.incidents import detector
    from posdesk.incidents.models import DetectorBaseline, DetectorCount, DetectorHourCount, DetectorSignal
    from posdesk.incidents.services import _counts_add, detector_baselines_refresh
    from posdesk.merchants.models import District, Merchant, MerchantContact
    from posdesk.terminals.models import TerminalModel
    from posdesk.tickets.models import Ticket

    rng = random.Random(args.seed)
    districts = list(District.objects.order_by("pk").values_list("pk", flat=True))
    models = list(TerminalModel.objects.order_by("pk").values_list("pk", flat=True))
    if len(models) < MODELS:
        TerminalModel.objects.bulk_create([TerminalModel(code=f"bench-{n}", manufacturer="压测", name=f"B{n}")
                                           for n in range(len(models), MODELS)])
        models = list(TerminalModel.objects.order_by("pk").values_list("pk", flat=True))
    # a clean slate of the detector's tables and of the bench's own tickets
    for model in (DetectorSignal, DetectorCount, DetectorHourCount, DetectorBaseline):
        model.objects.all().delete()
    from posdesk.incidents.models import Incident

    Incident.objects.all().delete()
    Ticket.objects.filter(number__startswith="B").delete()
    Merchant.objects.filter(mid__startswith="89833099").delete()

    # history → hour counts (what the upkeep keeps), then baselines
    started = time.perf_counter()
    now_hour = int(now.timestamp() // 3600)
    span_hours = args.weeks * 168
    hours = Counter[tuple[str, int]]()
    for _ in range(args.history):
        category, district, model, firmware, codes = draw(rng, districts)
        hour = now_hour - 1 - rng.randrange(span_hours)
        for key in detector.signal_keys(category=category, district_id=district, terminal_model_id=models[model],
                                        firmware=firmware, response_codes=codes):
            hours[(key, hour)] += 1
    rows = sorted(hours.items())
    for start in range(0, len(rows), 20000):
        _counts_add(rows[start:start + 20000], model=DetectorHourCount, slot="hour")
    history_seconds = time.perf_counter() - started
    started = time.perf_counter()
    baselines = detector_baselines_refresh(now=now)
    baseline_seconds = time.perf_counter() - started

    # the last two hours of minute counters, as the stream leaves them
    now_minute = detector.minute_of(now)
    minutes = Counter[tuple[str, int]]()
    for minute in range(now_minute - 120, now_minute - 5):
        for _ in range(args.rate * 60 // 10):  # a tenth sampled, counted ten times: same keys, less work
            category, district, model, firmware, codes = draw(rng, districts)
            for key in detector.signal_keys(category=category, district_id=district,
                                            terminal_model_id=models[model], firmware=firmware,
                                            response_codes=codes):
                minutes[(key, minute)] += 10
    rows = sorted(minutes.items())
    for start in range(0, len(rows), 20000):
        _counts_add(rows[start:start + 20000])

    # the stream's ticket rows (and the burst's, with merchants to answer)
    def tickets(count: int, first: datetime, prefix: str, merchants: list[int] | None = None,
                district: int | None = None) -> list[Ticket]:
        made = []
        for start in range(0, count, 2000):
            made += Ticket.objects.bulk_create([
                Ticket(number=f"{prefix}{n:08d}", channel="sms", category="transaction", priority="P2",
                       status="new", subject="压测", description="压测", created_at=first + timedelta(seconds=n / args.rate),
                       updated_at=now, merchant_id=merchants[n % len(merchants)] if merchants else None,
                       district_id=district)
                for n in range(start, min(start + 2000, count))])
        return made

    stream = tickets(args.stream, now - timedelta(seconds=args.stream / args.rate), "BS")
    burst_district = districts[0]
    merchants = Merchant.objects.bulk_create([Merchant(mid=f"89833099{n:07d}", name=f"压测商户{n}",
                                                       district_id=burst_district) for n in range(args.burst)])
    MerchantContact.objects.bulk_create([MerchantContact(merchant=m, name="老板", mobile=f"137{n:08d}",
                                                         is_primary=True) for n, m in enumerate(merchants)])
    burst = tickets(args.burst, now + timedelta(seconds=1), "BB", [m.pk for m in merchants], burst_district)
    stream_signals = []
    for ticket in stream:
        category, district, model, firmware, codes = draw(rng, districts)
        stream_signals.append((ticket.pk, ticket.created_at, category, district, models[model], firmware, codes))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "history_tickets": args.history, "hour_rows": DetectorHourCount.objects.count(),
        "history_seconds": round(history_seconds, 1), "baselines": baselines,
        "baseline_refresh_seconds": round(baseline_seconds, 2), "minute_rows": DetectorCount.objects.count(),
        "stream": stream_signals, "burst": [(t.pk, t.merchant_id, t.created_at, burst_district) for t in burst],
    }


def observe_timed(signals: list, batch: int) -> dict[str, Any]:
    from posdesk.incidents.services import incidents_observe
    from posdesk.incidents.signals import TicketSignal

    calls = []
    started = time.perf_counter()
    for start in range(0, len(signals), batch):
        chunk = [TicketSignal(ticket_id=t, merchant_id=m, created_at=at, category=c, priority="P2", district_id=d,
                              terminal_model_id=model, firmware=fw, response_codes=codes, text="")
                 for t, m, at, c, d, model, fw, codes in signals[start:start + batch]]
        began = time.perf_counter()
        incidents_observe(signals=chunk)
        calls.append(time.perf_counter() - began)
    total = time.perf_counter() - started
    return {"tickets": len(signals), "batch": batch, "ms_per_ticket": 1000 * total / len(signals),
            "p50_call_ms": 1000 * statistics.median(calls), "p99_call_ms": 1000 * percentile(calls, 0.99)}


def child(args: argparse.Namespace) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from posdesk.incidents.models import DetectorSignal, Incident, IncidentTicket

    now = timezone.now()
    prepared = prepare(args, now)
    stream = [(t, None, at, c, d, m, fw, codes) for t, at, c, d, m, fw, codes in prepared.pop("stream")]
    burst = prepared.pop("burst")
    results = []
    floor = settings.INCIDENT_WINDOWS
    settings.INCIDENT_WINDOWS = "5:1000000000,15:1000000000"  # the detector's own cost: nothing opens
    half = len(stream) // 2
    results.append({"scenario": f"detect, batches of {args.batch}", **observe_timed(stream[:half], args.batch)})
    results.append({"scenario": "detect, one ticket a call", **observe_timed(stream[half:], 1)})
    settings.INCIDENT_WINDOWS = floor
    DetectorSignal.objects.filter(ticket_id__in=[s[0] for s in stream]).delete()
    signals = [(t, m, at, "transaction", d, None, "", ("96",)) for t, m, at, d in burst]
    spike = observe_timed(signals, args.batch)
    spike.update(scenario=f"spike: link + answer, batches of {args.batch}",
                 incidents=Incident.objects.count(), linked=IncidentTicket.objects.count())
    results.append(spike)
    return {"db": connection.vendor, **prepared, "results": results}


# --- the driver -------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench.run import PYTHON, manage, postgres_ensure_database

    answers = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        env = dict(os.environ)
        env.update(POSDESK_DATA_DIR=str(Path(args.data_dir) / db), DJANGO_SETTINGS_MODULE="config.settings",
                   PYTHONPATH=str(ROOT), POSDESK_LOG_LEVEL="ERROR", CELERY_TASK_ALWAYS_EAGER="true")
        if db == "postgres":
            env["DATABASE_URL"] = args.pg_url
            problem = postgres_ensure_database(args.pg_url)
            if problem:
                print(f"[postgres] skipped: {problem}")
                continue
        else:
            env.pop("DATABASE_URL", None)
        Path(env["POSDESK_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        print(f"[{db}] migrate and prepare (data in {env['POSDESK_DATA_DIR']})", flush=True)
        manage(env, "migrate", "--noinput", "-v", "0")
        done = subprocess.run(  # noqa: S603 - our own script
            [PYTHON, str(Path(__file__).resolve()), "--child", *sys.argv[1:]],
            env=env, cwd=ROOT, check=True, text=True, stdout=subprocess.PIPE)
        answers.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return answers


def print_answers(answers: list[dict[str, Any]]) -> None:
    for a in answers:
        print(f"\n{a['db']}: history {a['history_tickets']:,} tickets → {a['hour_rows']:,} hour rows "
              f"({a['history_seconds']} s), {a['baselines']:,} baselines refreshed in "
              f"{a['baseline_refresh_seconds']} s; {a['minute_rows']:,} minute rows (two hours)")
        header = f"  {'scenario':<38} {'tickets':>8} {'ms/ticket':>10} {'p50 call ms':>12} {'p99 call ms':>12}"
        print(header)
        for r in a["results"]:
            extra = f"  incidents {r['incidents']}, linked {r['linked']:,}" if "incidents" in r else ""
            print(f"  {r['scenario']:<38} {r['tickets']:>8,} {r['ms_per_ticket']:>10.3f} {r['p50_call_ms']:>12.2f} "
                  f"{r['p99_call_ms']:>12.2f}{extra}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--history", type=int, default=1_000_000, help="tickets of history (default 1,000,000)")
    parser.add_argument("--weeks", type=int, default=8, help="weeks the history spans (default 8)")
    parser.add_argument("--rate", type=int, default=50, help="stream tickets per second (default 50)")
    parser.add_argument("--stream", type=int, default=15_000, help="stream tickets timed (default 15,000)")
    parser.add_argument("--batch", type=int, default=10, help="tickets per observe call (default 10)")
    parser.add_argument("--burst", type=int, default=2000, help="tickets of the spike scenario (default 2,000)")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/posdesk_bench_incidents"))
    parser.add_argument("--data-dir", default="/tmp/posdesk-bench-incidents")  # noqa: S108
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args), default=str))
        return 0
    print(f"posdesk incident detector bench — Python {platform.python_version()} on {platform.machine()}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    answers = run(args)
    print_answers(answers)
    if args.json:
        Path(args.json).write_text(json.dumps(answers, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
