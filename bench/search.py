#!/usr/bin/env python
"""posdesk benchmarks: Chinese search (C5) — article search at 100,000 articles and ticket search at
1,000,000 tickets, on SQLite FTS5 and PostgreSQL full text (target p95 ≤ 50 ms), and which typo
fallback ranks better on the search test set.

    .venv/bin/python bench/search.py                       # both databases
    .venv/bin/python bench/search.py --db sqlite --articles 20000 --repeat 3   # a quick look
    .venv/bin/python bench/search.py --skip-tickets        # article suggestions only (no ticket index needed)

Databases (never the shared posdesk_bench ones): SQLite under --data-dir (default /tmp/h-K-bench),
PostgreSQL at --pg-url (default …/h_k_bench). Build them once, outside this script:

    POSDESK_DATA_DIR=/tmp/h-K-bench posdesk migrate && posdesk demo --tickets 1000000 && posdesk search_reindex --tickets
    (the same with DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_k_bench)

This script then tops the article table up to --articles with synthetic variations of the demo
articles (titles with terminal models, districts and shop types; symptoms shuffled; a quarter
internal, a tenth drafts), indexed through the same search module, and times in one process:

* `article_suggest` (what the portal's live suggestions and triage call: full text, visibility
  filter, boosts, coverage score) for each query of the search test set, --repeat times;
* `ticket_ids_matching` (the ticket list's word search: every word must match, newest 200) and the
  ticket list's first page with that `q` (`ticket_filter` as the console and API use it);
* quality: top-3 hits of the search test set over the demo articles in an in-memory FTS5 index with
  no fallback field, character pairs, or pinyin pairs (the default).

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKET_QUERIES = [
    "打印机",
    "刷卡 没反应",
    "押金",
    "签到失败",
    "流量卡",
    "到账",
    "A0",
    "黑屏",
    "扫码",
    "退款",
    "打不出小票",
    "交易失败 96",
    "激活",
    "冻结",
    "移机",
    "密码",
    "充电",
    "死机",
    "费率",
    "换结算卡",
]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _summary(ms: list[float]) -> dict:
    return {
        "n": len(ms),
        "p50": round(statistics.median(ms), 2),
        "p95": round(_percentile(ms, 0.95), 2),
        "p99": round(_percentile(ms, 0.99), 2),
        "max": round(max(ms), 2),
    }


# --- inside one database's Django process ---------------------------------------------------


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


SHOPS = ["便利店", "超市", "餐厅", "面馆", "药店", "水果店", "奶茶店", "服装店", "五金店", "烟酒店"]
DISTRICTS = ["西湖", "上城", "拱墅", "滨江", "萧山", "余杭", "临平", "钱塘", "富阳", "临安"]
MODELS = ["ME31", "SP630", "N910", "S90", "A920", "Q92", "D210"]


def _top_up_articles(target: int, seed: int = 7) -> tuple[int, float]:
    from django.db import transaction

    from posdesk.demo.articles import ARTICLES, demo_articles_load
    from posdesk.knowledge import documents, search
    from posdesk.knowledge.models import Article

    demo_articles_load()
    have = Article.objects.count()
    if have >= target:
        search.analyse_articles()
        return have, 0.0
    rng = random.Random(seed)
    started = time.perf_counter()
    n = have
    while n < target:
        batch = []
        for _ in range(min(2_000, target - n)):
            base = rng.choice(ARTICLES)
            symptoms = base.symptoms.splitlines()
            rng.shuffle(symptoms)
            variant = f"{rng.choice(MODELS)} {rng.choice(DISTRICTS)}{rng.choice(SHOPS)}"
            batch.append(
                Article(
                    slug=f"bench-{n}",
                    title=f"{base.title.split(' · ')[0]}（{variant}）"[:120],
                    category=base.category,
                    summary=base.summary,
                    symptoms="\n".join(symptoms[: rng.randint(2, len(symptoms))]),
                    steps=base.steps,
                    body=base.body,
                    response_codes=base.codes,
                    audience="internal" if rng.random() < 0.25 else "merchant",
                    status="draft" if rng.random() < 0.1 else "published",
                )
            )
            n += 1
        with transaction.atomic():
            created = Article.objects.bulk_create(batch)
            search.article_index_documents(
                [
                    (
                        a.pk,
                        documents.article_document(
                            documents.ArticleText(
                                title=a.title,
                                symptoms=a.symptoms,
                                response_codes=a.response_codes,
                                summary=a.summary,
                                steps=a.steps,
                                body=a.body,
                            )
                        ),
                    )
                    for a in created
                ]
            )
        print(f"  articles: {n:,} / {target:,}  {time.perf_counter() - started:.0f} s", flush=True)
    search.analyse_articles()
    return n, time.perf_counter() - started


def _time(fn, repeat: int) -> list[float]:  # noqa: ANN001
    ms = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - started) * 1000)
    return ms


def _quality() -> dict:
    """Top-3 hits of the test set over the demo articles, per fallback field (in-memory FTS5)."""
    import sqlite3

    from posdesk.demo.articles import ARTICLES
    from posdesk.knowledge import documents, search
    from posdesk.knowledge.tests.search_cases import INTERNAL_CASES, SEARCH_CASES

    cases = SEARCH_CASES + INTERNAL_CASES
    results = {}
    for fallback in ("", "chars", "sounds"):
        db = sqlite3.connect(":memory:")
        db.execute(
            "CREATE VIRTUAL TABLE a USING fts5(title, symptoms, summary, body, sounds, "
            "tokenize='unicode61 remove_diacritics 0')"
        )
        slugs = {}
        for rowid, seed in enumerate(ARTICLES, start=1):
            doc = documents.article_document(
                documents.ArticleText(
                    title=seed.title,
                    symptoms=seed.symptoms,
                    response_codes=seed.codes,
                    summary=seed.summary,
                    steps=seed.steps,
                    body=seed.body,
                ),
                fallback=fallback,
            )
            db.execute(
                "INSERT INTO a (rowid, title, symptoms, summary, body, sounds) VALUES (?, ?, ?, ?, ?, ?)",
                (rowid, doc.title, doc.symptoms, doc.summary, doc.body, doc.sounds),
            )
            slugs[rowid] = seed.slug
        hits = 0
        missed = []
        for query, slug in cases:
            words = documents.query_terms(query)
            fuzzy = {
                "": [],
                "chars": documents.query_char_pairs(query),
                "sounds": documents.query_sound_pairs(query),
            }[fallback]
            terms = [*words, *fuzzy]
            if not terms:
                missed.append(query)
                continue
            match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
            weights = ", ".join(str(w) for w in search.BM25_WEIGHTS)
            rows = db.execute(
                f"SELECT rowid FROM a WHERE a MATCH ? ORDER BY bm25(a, {weights}) LIMIT 3",  # noqa: S608
                (match,),
            ).fetchall()
            if slug in [slugs[r[0]] for r in rows]:
                hits += 1
            else:
                missed.append(query)
        results[fallback or "none"] = {"top3": hits, "of": len(cases), "missed": missed}
    return results


def inner(args: argparse.Namespace) -> dict:
    _setup()
    from django.db import connection

    from posdesk.accounts.models import User
    from posdesk.knowledge.search import ticket_ids_matching
    from posdesk.knowledge.selectors import article_suggest
    from posdesk.knowledge.tests.search_cases import SEARCH_CASES
    from posdesk.tickets.models import Ticket
    from posdesk.tickets.selectors import TicketFilters, ticket_filter

    out: dict = {"db": connection.vendor}
    count, seconds = _top_up_articles(args.articles)
    out["articles"] = count
    out["articles_build_s"] = round(seconds, 1)
    if args.prepare:
        return out
    out["tickets"] = 0 if args.skip_tickets else Ticket.objects.count()
    queries = [q for q, _ in SEARCH_CASES]
    for q in queries[:5]:
        article_suggest(text=q)  # warm the dictionaries and the database cache
    suggest_ms: list[float] = []
    for _ in range(args.repeat):
        for q in queries:
            suggest_ms += _time(lambda q=q: article_suggest(text=q, audience="merchant", limit=3), 1)
    out["article_suggest"] = _summary(suggest_ms)
    if args.skip_tickets:
        out["ticket_matches"] = {}
        return out
    ticket_ms: list[float] = []
    page_ms: list[float] = []
    matches: dict[str, int] = {}
    agent = User.objects.filter(role="agent").order_by("pk").first()
    for q in TICKET_QUERIES:
        ticket_ids_matching(q)
    for _ in range(args.repeat):
        for q in TICKET_QUERIES:
            ticket_ms += _time(lambda q=q: matches.__setitem__(q, len(ticket_ids_matching(q))), 1)
            if agent is not None:
                page_ms += _time(
                    lambda q=q: list(
                        ticket_filter(agent, TicketFilters(q=q)).order_by("-created_at", "-id")[:25]
                    ),
                    1,
                )
    out["ticket_ids_matching"] = _summary(ticket_ms)
    if page_ms:
        out["ticket_list_page_q"] = _summary(page_ms)
    out["ticket_matches"] = matches
    if connection.vendor == "sqlite":
        out["quality"] = _quality()
    return out


# --- the driver -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", default="/tmp/h-K-bench")  # noqa: S108 - a benchmark database, by design
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/h_k_bench")
    parser.add_argument("--json", default="")
    parser.add_argument(
        "--prepare", action="store_true", help="only top the articles up (untimed), then stop"
    )
    parser.add_argument("--skip-tickets", action="store_true", help="time the article suggestions only")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print("RESULT " + json.dumps(inner(args), ensure_ascii=False), flush=True)
        return
    results = []
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        env = {**os.environ, "POSDESK_DATA_DIR": args.data_dir if db == "sqlite" else f"{args.data_dir}/pg"}
        if db == "postgres":
            env["DATABASE_URL"] = args.pg_url
        else:
            env.pop("DATABASE_URL", None)
        command = [
            sys.executable,
            __file__,
            "--inner",
            "--articles",
            str(args.articles),
            "--repeat",
            str(args.repeat),
            *(["--prepare"] if args.prepare else []),
            *(["--skip-tickets"] if args.skip_tickets else []),
        ]
        proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)  # noqa: S603 - our own script
        sys.stderr.write(proc.stderr[-3000:] if proc.returncode else "")
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                results.append(json.loads(line[7:]))
            else:
                print(line)
    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    for r in results:
        if "tickets" not in r:
            print(f"\n{r['db']}: {r['articles']:,} articles ready ({r['articles_build_s']} s)")
            continue
        print(f"\n{r['db']}: {r['articles']:,} articles, {r['tickets']:,} tickets")
        for name in ("article_suggest", "ticket_ids_matching", "ticket_list_page_q"):
            if name in r:
                s = r[name]
                print(
                    f"  {name:22} n={s['n']:5}  p50 {s['p50']:7.2f} ms  p95 {s['p95']:7.2f} ms  "
                    f"p99 {s['p99']:7.2f} ms  max {s['max']:7.2f} ms"
                )
        if r["ticket_matches"]:
            print(
                "  ticket matches (capped at 200): "
                + ", ".join(f"{q} {n}" for q, n in r["ticket_matches"].items())
            )
        for fallback, q in r.get("quality", {}).items():
            print(
                f"  quality, fallback {fallback:6}: {q['top3']}/{q['of']} in the top 3; missed: {', '.join(q['missed'])}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
