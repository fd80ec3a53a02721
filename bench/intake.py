#!/usr/bin/env python
"""posdesk benchmarks: the intake pipeline (C6 with C5's answers and C7's detector) — how many new
tickets a second one worker process triages end to end, on SQLite and on PostgreSQL.

Builds (once per database, untimed) --merchants merchants with a terminal each, then opens
--tickets tickets through `ticket_open` with the commit-started job switched off, in a mix of the
trade's faults: printer, card reader, 签到 / keys, 流量卡, 到账, 押金, complaints, a response code
in one in five (51 / 55 / 96 / A0), the terminal's SN in one in four, one in ten without a merchant
but naming its MID. Then times `tickets_triage` over all of them in one call (batches of
pipeline.BATCH: one classifier call, identity and duplicate reads, articles, then per ticket
`ticket_classify` + status triaged + the record, then the search index, the incident detector and
the self-service answers; routing's own job is not timed) and, apart, the classifier alone over
the same texts. Reports tickets per second and ms per ticket, and what the pipeline did.

    .venv/bin/python bench/intake.py                          # both databases, 2,000 tickets
    .venv/bin/python bench/intake.py --db sqlite --tickets 500  # a quick look

SQLite under --data-dir (default /tmp/posdesk-bench-intake/sqlite), PostgreSQL at --pg-url
(default postgres://postgres@127.0.0.1:5432/posdesk_bench_intake, created if missing). Each run
starts from a fresh database. Figures depend on the machine and what else runs; see RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FAULTS = [
    "打印机不出纸了", "小票打不出来，打印机一直响", "刷卡没反应，读卡器坏了", "插卡提示读卡失败", "屏幕碎了看不清",
    "签到失败，提示密钥错误", "机器一直显示正在下载参数", "流量卡没信号，连不上网", "交易超时，网络不好",
    "昨天的钱今天还没到账", "到账金额少了 300 元", "押金怎么退", "费率怎么突然变高了", "想再装一台机器",
    "客服电话一直打不通，态度也差", "商户被风控冻结了，收不了款", "机器黑屏开不了机，完全收不了款",
]
CODES = ["51", "55", "96", "A0"]


def _child(args: argparse.Namespace) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    from posdesk.tickets import services as ticket_services
    from posdesk.triage import pipeline
    from posdesk.triage.services import triage_texts
    from posdesk.triage.training import model_get
    from tests import factories as f

    rng = random.Random(7)
    f.ensure_districts()
    f.ensure_sla_defaults()
    merchants = [f.MerchantFactory() for _ in range(args.merchants)]
    terminals = [f.TerminalFactory(merchant=m) for m in merchants]
    ticket_services.intake_kick = lambda: None  # opened untriaged: the pipeline is timed alone below
    ids, texts = [], []
    for i in range(args.tickets):
        index = rng.randrange(len(merchants))
        merchant, terminal = merchants[index], terminals[index]
        text = rng.choice(FAULTS)
        if rng.random() < 0.2:
            text += f"，刷卡提示{rng.choice(CODES)}"
        if rng.random() < 0.25:
            text = f"{terminal.sn} {text}"
        if i % 10 == 0:
            ticket = ticket_services.ticket_open_from_channel(channel="email", text=f"商户号 {merchant.mid} {text}",
                                                              merchant=None)
        else:
            channel = rng.choice(["portal", "sms", "wechat", "email", "api"])
            ticket = ticket_services.ticket_open_from_channel(channel=channel, text=text, merchant=merchant)
        ids.append(ticket.pk)
        texts.append(text)
    model_get()  # trained or loaded before timing
    pipeline.triage_actor()
    pipeline.routing_kick = lambda: None  # routing has its own benchmark

    started = time.perf_counter()
    for start in range(0, len(texts), pipeline.BATCH):
        triage_texts(texts[start:start + pipeline.BATCH])
    classifier_seconds = time.perf_counter() - started

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    outcome = pipeline.tickets_triage(ticket_ids=ids)
    seconds = time.perf_counter() - started
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
    again = time.perf_counter()
    second = pipeline.tickets_triage(ticket_ids=ids)
    rerun_seconds = time.perf_counter() - again
    return {
        "database": connection.vendor, "tickets": len(ids), "seconds": round(seconds, 2),
        "tickets_per_second": round(len(ids) / seconds, 1), "ms_per_ticket": round(1000 * seconds / len(ids), 2),
        "classifier_ms_per_ticket": round(1000 * classifier_seconds / len(ids), 3),
        "rerun_ms_per_ticket": round(1000 * rerun_seconds / len(ids), 3), "rerun_triaged": len(second.triaged),
        **outcome.as_dict(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--merchants", type=int, default=300)
    parser.add_argument("--data-dir", default="/tmp/posdesk-bench-intake/sqlite")  # noqa: S108 - a benchmark's scratch
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/posdesk_bench_intake")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the timed run (stderr)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(_child(args)))
        return
    results = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        env = {**os.environ, "POSDESK_DATA_DIR": args.data_dir, "POSDESK_LOG_LEVEL": "WARNING"}
        if db == "sqlite":
            shutil.rmtree(args.data_dir, ignore_errors=True)
            env.pop("DATABASE_URL", None)
        else:
            _postgres_fresh(args.pg_url)
            env["DATABASE_URL"] = args.pg_url
        Path(args.data_dir).mkdir(parents=True, exist_ok=True)
        command = [sys.executable, __file__, "--child", "--tickets", str(args.tickets), "--merchants",
                   str(args.merchants), *(["--profile"] if args.profile else [])]
        run = subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, text=True)  # noqa: S603
        if args.profile:
            print(run.stderr[-12000:], file=sys.stderr)
        output = run.stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    print(f"{'database':<10} {'tickets':>7} {'tickets/s':>10} {'ms/ticket':>10} {'classifier ms':>14} "
          f"{'re-run ms':>10} {'answered':>9} {'identified':>11} {'duplicates':>11}")
    for r in results:
        print(f"{r['database']:<10} {r['tickets']:>7} {r['tickets_per_second']:>10} {r['ms_per_ticket']:>10} "
              f"{r['classifier_ms_per_ticket']:>14} {r['rerun_ms_per_ticket']:>10} {r['answered']:>9} "
              f"{r['identified']:>11} {r['duplicates']:>11}")
    print(json.dumps(results))


def _postgres_fresh(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
