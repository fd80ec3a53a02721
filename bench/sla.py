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


SCENARIOS: dict[str, Callable[[argparse.Namespace], list[Result]]] = {
    "arithmetic": arithmetic,
}


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenarios",
        default="arithmetic",
        help=f"comma-separated, of: {', '.join(SCENARIOS)} (default arithmetic)",
    )
    parser.add_argument("--count", type=int, default=200_000, help="operations per run (default 200,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per operation; the median is reported")
    parser.add_argument("--seed", type=int, default=20240929, help="seed of the random instants and targets")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
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
    results: list[Result] = []
    for name in args.scenario_names:
        results.extend(SCENARIOS[name](args))
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
