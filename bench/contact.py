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
    .venv/bin/python bench/contact.py --db both               # also the gate with the database

With --db (sqlite, postgres or both) it then measures the gate with its facts read from the
database and its decisions written, in a Django process per database (`posdesk migrate` first;
SQLite under --data-dir, PostgreSQL at --pg-url, created if missing). --merchants merchants (default
10,000, made once: 10 % on do-not-disturb, 15 % with an opt-out, half with SMS marketing consent,
a fifth who wrote in the last three hours, 0–4 contacts each in the last 40 days) are asked a mix
of every purpose at a working-day 10:00 — one by one (`contact_decide`; `contact_request`, each in
its own transaction), and as broadcasts of --batch drafts (`contact_decide_many`;
`contact_request_many`, each batch one transaction: decisions, decision rows and outbox messages
written and committed). Each run starts from the same rows (what a run wrote is deleted after
it, untimed); the median of --db-repeat runs is reported.

Figures depend on the machine and on what else runs on it; see bench/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta, timezone
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


# --- the gate with the database ---------------------------------------------------------------

BENCH_MID_PREFIX = "8983308"  # 15-digit MIDs of the bench's merchants: prefix + 8 digits
# a working-day 10:00 in Shanghai: neither quiet hours nor a holiday
DB_AT = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def db_env(db: str, args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(POSDESK_DATA_DIR=str(Path(args.data_dir) / db), DJANGO_SETTINGS_MODULE="config.settings",
               PYTHONPATH=str(ROOT), POSDESK_LOG_LEVEL="WARNING")
    if db == "postgres":
        env["DATABASE_URL"] = args.pg_url
    else:
        env.pop("DATABASE_URL", None)
    return env


def db_prepare(merchants: int, seed: int) -> int:
    """Top the bench's merchants up to `merchants`, each with its wishes and recent contacts."""
    from posdesk.contact.models import ContactDecision, ContactOptOut, ContactProfile, MarketingConsent
    from posdesk.merchants.models import Merchant

    have = Merchant.objects.filter(mid__startswith=BENCH_MID_PREFIX).count()
    rng = random.Random(seed + have)
    at = DB_AT.astimezone(UTC)
    for start in range(have, merchants, 2000):
        made = Merchant.objects.bulk_create([
            Merchant(mid=f"{BENCH_MID_PREFIX}{n:08d}", name=f"压测商户{n}")
            for n in range(start, min(start + 2000, merchants))])
        profiles, opt_outs, consents, history = [], [], [], []
        for merchant in made:
            wrote = rng.random() < 0.2
            profiles.append(ContactProfile(
                merchant=merchant, do_not_disturb=rng.random() < 0.1,
                last_inbound_at=at - timedelta(seconds=rng.randrange(3 * 3600)) if wrote else None,
                last_inbound_channel=rng.choice(CHANNELS) if wrote else ""))
            if rng.random() < 0.15:
                purpose = rng.choice(("", Purpose.MARKETING.value, Purpose.SURVEY.value))
                opt_outs.append(ContactOptOut(merchant=merchant, channel=rng.choice(CHANNELS), purpose=purpose,
                                              source="portal", created_at=at - timedelta(days=5)))
            if rng.random() < 0.5:
                consents.append(MarketingConsent(merchant=merchant, channel="sms", how="portal",
                                                 given_at=at - timedelta(days=90)))
            for _ in range(rng.randint(0, 4)):
                purpose = rng.choice(PURPOSES).value
                history.append(ContactDecision(
                    merchant=merchant, channel="phone" if purpose == "service_follow_up" else rng.choice(CHANNELS),
                    purpose=purpose, outcome="allow", reason="allowed", contacted=True,
                    ticket_id=rng.choice(TICKETS), decided_at=at - timedelta(seconds=rng.randrange(40 * 86_400))))
        ContactProfile.objects.bulk_create(profiles)
        ContactOptOut.objects.bulk_create(opt_outs)
        MarketingConsent.objects.bulk_create(consents)
        ContactDecision.objects.bulk_create(history)
    return merchants


def db_drafts(merchant_ids: list[int]) -> list[Any]:
    """Every purpose in turn, SMS but follow-up calls; follow-ups and replies about a ticket."""
    from posdesk.contact.services import ContactDraft

    drafts = []
    for number, merchant_id in enumerate(merchant_ids):
        purpose = PURPOSES[number % len(PURPOSES)]
        drafts.append(ContactDraft(
            merchant_id=merchant_id, channel="phone" if purpose == Purpose.SERVICE_FOLLOW_UP else "sms",
            purpose=purpose.value, recipient=f"139{number:08d}", body="【posdesk】压测",
            ticket_id=TICKETS[1 + number % 3] if purpose in (Purpose.SERVICE_REPLY, Purpose.SERVICE_FOLLOW_UP)
            else None))
    return drafts


def db_scenarios(db: str, merchants: int, batch: int, repeat: int, single: int, seed: int) -> dict[str, Any]:
    from django.db import transaction

    from posdesk.contact.models import ContactDecision
    from posdesk.contact.services import (
        contact_decide,
        contact_decide_many,
        contact_request,
        contact_request_many,
    )
    from posdesk.merchants.models import Merchant
    from posdesk.outbox.models import OutboxMessage

    db_prepare(merchants, seed)
    merchant_ids = list(Merchant.objects.filter(mid__startswith=BENCH_MID_PREFIX).order_by("pk")
                        .values_list("pk", flat=True)[:merchants])
    drafts = db_drafts(merchant_ids)
    batches = [drafts[i:i + batch] for i in range(0, len(drafts), batch)]
    few = drafts[:single]
    at = DB_AT.astimezone(UTC)

    def last_pks() -> tuple[int, int]:
        return (ContactDecision.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
                OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)

    def forget(marks: tuple[int, int]) -> None:  # what a run wrote: gone before the next one
        ContactDecision.objects.filter(pk__gt=marks[0]).delete()
        OutboxMessage.objects.filter(pk__gt=marks[1]).delete()

    outcomes: Counter[str] = Counter()

    def one_by_one_decide() -> None:
        for d in few:
            contact_decide(merchant_id=d.merchant_id, channel=d.channel, purpose=d.purpose, at=at,
                           ticket_id=d.ticket_id)

    def one_by_one_request() -> None:
        for d in few:
            with transaction.atomic():
                contact_request(merchant_id=d.merchant_id, channel=d.channel, purpose=d.purpose,
                                recipient=d.recipient, body=d.body, ticket_id=d.ticket_id, at=at)

    def broadcast_decide() -> None:
        for part in batches:
            contact_decide_many(part, at=at)

    def broadcast_request() -> None:
        outcomes.clear()
        for part in batches:
            outcomes.update(r.decision.outcome.value for r in contact_request_many(part, at=at))

    results = []
    for label, count, run, writes in (
        ("contact_decide, one by one", len(few), one_by_one_decide, False),
        ("contact_request, one by one", len(few), one_by_one_request, True),
        (f"contact_decide_many, batches of {batch:,}", len(drafts), broadcast_decide, False),
        (f"contact_request_many, batches of {batch:,}", len(drafts), broadcast_request, True),
    ):
        run()  # warm-up (rules, holidays, compiled reads), then back to the same rows
        marks = last_pks()
        forget(marks)
        rates = []
        for _ in range(repeat):
            marks = last_pks()
            began = time.perf_counter()
            run()
            rates.append(count / (time.perf_counter() - began))
            if writes:
                forget(marks)
        results.append({"db": db, "operation": label, "count": count, "rate": statistics.median(rates),
                        "runs": [round(r) for r in rates]})
    mix = {k: round(v / len(drafts), 3) for k, v in outcomes.most_common()}
    return {"db": db, "merchants": len(merchant_ids), "results": results, "mix": mix}


def db_child(argv: list[str]) -> None:
    import django

    django.setup()
    db, merchants, batch, repeat, single, seed = argv[0], *map(int, argv[1:])
    print(json.dumps(db_scenarios(db, merchants, batch, repeat, single, seed)))


def with_database(args: argparse.Namespace) -> list[dict[str, Any]]:
    import subprocess

    from bench.run import PYTHON, manage, postgres_ensure_database

    answers = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        env = db_env(db, args)
        if db == "postgres":
            problem = postgres_ensure_database(args.pg_url)
            if problem:
                print(f"[postgres] skipped: {problem}")
                continue
        Path(env["POSDESK_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        print(f"[{db}] preparing (data in {env['POSDESK_DATA_DIR']})", flush=True)
        manage(env, "migrate", "--noinput", "-v", "0")
        done = subprocess.run(  # noqa: S603 - our own script
            [PYTHON, str(Path(__file__).resolve()), "--task", db, str(args.merchants), str(args.batch),
             str(args.db_repeat), str(args.single), str(args.seed)],
            env=env, cwd=ROOT, check=True, text=True, stdout=subprocess.PIPE)
        answers.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return answers


def print_db_table(answers: list[dict[str, Any]]) -> None:
    header = f"{'db':<9} {'operation':<40} {'decisions':>9} {'median /s':>10}  runs"
    print(header)
    print("-" * len(header))
    for answer in answers:
        for r in answer["results"]:
            print(f"{r['db']:<9} {r['operation']:<40} {r['count']:>9,} {r['rate']:>10,.0f}  "
                  f"{', '.join(f'{x:,}' for x in r['runs'])}")
    for answer in answers:
        print(f"{answer['db']}: {answer['merchants']:,} merchants; broadcast outcomes "
              + ", ".join(f"{k} {v:.1%}" for k, v in answer["mix"].items()))


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200_000, help="decisions per run (default 200,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the median is reported (default 5)")
    parser.add_argument("--seed", type=int, default=20260101, help="seed of the random requests and facts")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"],
                        help="also measure the gate with the database (default: the decision alone)")
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/posdesk_bench_contact"))
    parser.add_argument("--data-dir", default="/tmp/posdesk-bench-contact")  # noqa: S108
    parser.add_argument("--merchants", type=int, default=10_000, help="merchants with --db (default 10,000)")
    parser.add_argument("--batch", type=int, default=1000, help="drafts per broadcast (default 1,000)")
    parser.add_argument("--single", type=int, default=2000,
                        help="requests of the one-by-one scenarios (default 2,000)")
    parser.add_argument("--db-repeat", type=int, default=5, help="runs with the database (default 5)")
    parser.add_argument("--task", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.count < 1 or args.repeat < 1:
        parser.error("--count and --repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.task:
        db_child(args.task)
        return 0
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
    answers = []
    if args.db:
        print()
        answers = with_database(args)
        print()
        print_db_table(answers)
    if args.json:
        payload = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "count": args.count,
            "repeat": args.repeat,
            "seed": args.seed,
            "results": [asdict(r) for r in results],
            "mix": mix,
            "with_database": answers,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
