#!/usr/bin/env python
"""posdesk benchmarks: contact governance (C4) — how many contact decisions a second one process makes.

No database. Draws --count seeded random (request, facts) pairs: every purpose (service reply,
follow-up, incident notice, survey, marketing), channels sms / email / wechat / phone, instants
uniform over 2026 (Asia/Shanghai), 0–6 recent contacts within the last 40 days, some merchants on
do-not-disturb, with opt-outs, marketing consent, or a message of their own in the last hours.
Then times, in this one process, `decide(request, facts, rules, is_holiday)` under the default
rules (quiet hours 21:00–08:00, marketing 2 / 30 days, survey 1 / 14 days, follow-up calls
2 / ticket / day) with the statutory calendar (`statutory_rule()`: holidays and 调休 working days)
as the marketing holiday rule. Each run decides every pair once; --repeat runs, the median is
reported (target ≥ 20,000 decisions a second), with the share of allow / deny / defer and of
each reason.

    .venv/bin/python bench/contact.py                         # 200,000 × 5
    .venv/bin/python bench/contact.py --json /tmp/contact.json
    .venv/bin/python bench/contact.py --count 20000 --repeat 3  # a quick look

Figures depend on the machine and on what else runs on it; see bench/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections import Counter
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sla import Result, print_table, timed  # noqa: E402
from posdesk.contact.decision import (  # noqa: E402
    ContactFacts,
    ContactRequest,
    ContactRules,
    PastContact,
    Purpose,
    decide,
)
from posdesk.slas.calendars import statutory_rule  # noqa: E402

SHANGHAI = timezone(timedelta(hours=8))
CHANNELS = ("sms", "email", "wechat", "phone")
PURPOSES = tuple(Purpose)
FIRST = datetime(2026, 1, 1, tzinfo=SHANGHAI)
LAST = datetime(2027, 1, 1, tzinfo=SHANGHAI)
TICKETS = (None, 1, 2, 3)


# results, the timing loop and the table are bench/sla.py's



# --- the workload ---------------------------------------------------------------------------


def draw_pairs(count: int, seed: int) -> list[tuple[ContactRequest, ContactFacts]]:
    """Seeded random requests and what is known about each merchant at that moment."""
    rng = random.Random(seed)
    span = int((LAST - FIRST).total_seconds())
    pairs = []
    for _ in range(count):
        at = FIRST + timedelta(seconds=rng.randrange(span))
        channel = rng.choice(CHANNELS)
        request = ContactRequest(
            channel=channel, purpose=rng.choice(PURPOSES), at=at, ticket_id=rng.choice(TICKETS)
        )
        recent = tuple(
            PastContact(
                purpose=rng.choice(PURPOSES),
                channel=rng.choice(CHANNELS),
                at=at - timedelta(seconds=rng.randrange(40 * 86_400)),
                ticket_id=rng.choice(TICKETS),
            )
            for _ in range(rng.randint(0, 6))
        )
        opt_outs: frozenset[tuple[str, Purpose | None]] = frozenset()
        if rng.random() < 0.15:
            opt_outs = frozenset(
                {(rng.choice(CHANNELS), rng.choice((None, Purpose.MARKETING, Purpose.SURVEY)))}
            )
        inbound_at = at - timedelta(seconds=rng.randrange(3 * 3600)) if rng.random() < 0.3 else None
        facts = ContactFacts(
            do_not_disturb=rng.random() < 0.1,
            opt_outs=opt_outs,
            marketing_consent_channels=frozenset(c for c in CHANNELS if rng.random() < 0.5),
            recent=recent,
            last_inbound_at=inbound_at,
            last_inbound_channel=rng.choice(CHANNELS) if inbound_at else "",
        )
        pairs.append((request, facts))
    return pairs


def shares(counter: Counter[str], total: int) -> dict[str, float]:
    return {key: round(n / total, 4) for key, n in counter.most_common()}


def contact(args: argparse.Namespace) -> tuple[list[Result], dict[str, Any]]:
    began = time.perf_counter()
    pairs = draw_pairs(args.count, args.seed)
    draw_s = time.perf_counter() - began
    rules = ContactRules()
    workday = statutory_rule()

    def is_holiday(day: date) -> bool:
        return workday(day) is False

    decisions = [decide(request, facts, rules, is_holiday) for request, facts in pairs]  # also warms up
    outcomes = Counter(d.outcome.value for d in decisions)
    reasons = Counter(d.reason.value for d in decisions)
    purposes = Counter(r.purpose.value for r, _ in pairs)
    late = sum(
        1 for (r, _), d in zip(pairs, decisions, strict=True) if d.until is not None and d.until <= r.at
    )
    if late:
        raise SystemExit(f"contact: {late} deferrals are not later than their request")

    def run_decide() -> None:
        for request, facts in pairs:
            decide(request, facts, rules, is_holiday)

    def run_loop() -> None:  # the bare loop, to show what the figures include
        for _request, _facts in pairs:
            pass

    mix = ", ".join(f"{k} {v:.1%}" for k, v in shares(outcomes, len(decisions)).items())
    results = [
        timed("decide", "contact", args.count, args.repeat, run_decide, mix),
        timed(
            "empty loop (overhead)", "contact",
            args.count,
            args.repeat,
            run_loop,
            f"drawing the pairs took {draw_s:.1f} s",
        ),
    ]
    mix_facts = {
        "outcomes": shares(outcomes, len(decisions)),
        "reasons": shares(reasons, len(decisions)),
        "purposes": shares(purposes, len(pairs)),
        "mean_recent_contacts": round(sum(len(f.recent) for _, f in pairs) / len(pairs), 2),
    }
    return results, mix_facts


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200_000, help="decisions per run (default 200,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the median is reported (default 5)")
    parser.add_argument("--seed", type=int, default=20260101, help="seed of the random requests and facts")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.count < 1 or args.repeat < 1:
        parser.error("--count and --repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"posdesk contact bench — Python {platform.python_version()} on {platform.machine()}, "
        f"{args.count:,} decisions × {args.repeat} runs, seed {args.seed}"
    )
    results, mix = contact(args)
    print()
    print_table(results)
    print()
    print("outcomes: " + ", ".join(f"{k} {v:.1%}" for k, v in mix["outcomes"].items()))
    print("reasons:  " + ", ".join(f"{k} {v:.1%}" for k, v in mix["reasons"].items()))
    print(
        "purposes: "
        + ", ".join(f"{k} {v:.1%}" for k, v in mix["purposes"].items())
        + f"; {mix['mean_recent_contacts']} recent contacts on average"
    )
    if args.json:
        payload = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "count": args.count,
            "repeat": args.repeat,
            "seed": args.seed,
            "results": [asdict(r) for r in results],
            "mix": mix,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
