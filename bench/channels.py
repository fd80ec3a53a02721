#!/usr/bin/env python
"""posdesk benchmarks (issue 4): the inbound webhooks under a steady load, the contact gate with
the database, and the outbox drain with the local SMS provider.

For each database (SQLite, the embedded default; PostgreSQL):
  1. prepares a database under --data-dir (migrate, `posdesk demo`), binds WeChat followers to the
     demo merchants' contacts;
  2. starts the real server as `posdesk serve` does (gunicorn, same workers) with the WeChat channel
     in safe (AES) mode and the SMS callbacks signed;
  3. sends, from this process on 127.0.0.1, --rate messages a second for --duration seconds on an
     open-loop schedule (each request's latency counts from the moment it was due, so a server that
     falls behind shows it): WeChat text pushes, each encrypted and signed like WeChat's, and SMS
     up-link callbacks, each signed; every message is a new one (its own MsgId / sequence id);
  4. in one Django process: contact decisions with their facts read from the database
     (`contact_decide`), and the outbox drain of --drain fresh SMS through the local provider.

    .venv/bin/python bench/channels.py                     # both databases, 300 messages/s, 20 s each
    .venv/bin/python bench/channels.py --db sqlite --rate 300 --duration 10

Targets (issue 4): WeChat and SMS webhooks answer p99 < 200 ms at 300 messages/s; ≥ 20,000 contact
decisions/s. Figures depend on the machine; see bench/RESULTS.md."""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    PYTHON,
    Server,
    cpu_used,
    manage,
    postgres_backend_pids,
    postgres_ensure_database,
    process_cpu_seconds,
)

TOKEN = "posdeskbench"  # noqa: S105 - a benchmark's own server, on loopback
AES_KEY = base64.b64encode(hashlib.sha256(b"posdesk bench").digest()).decode().rstrip("=")  # 43 characters
APP_ID = "wxbench0000000001"
SMS_SECRET = "bench-callback-secret"  # noqa: S105 - as above
FOLLOWERS = 200


def db_env(db: str, args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(POSDESK_DATA_DIR=str(Path(args.data_dir) / db), DJANGO_SETTINGS_MODULE="config.settings",
               PYTHONPATH=str(ROOT), POSDESK_WECHAT_TOKEN=TOKEN, POSDESK_WECHAT_AES_KEY=AES_KEY,
               POSDESK_WECHAT_APP_ID=APP_ID, POSDESK_WECHAT_APP_SECRET="bench",  # noqa: S106 - loopback only
               POSDESK_SMS_CALLBACK_SECRET=SMS_SECRET,
               POSDESK_LOG_LEVEL="WARNING")
    if db == "postgres":
        env["DATABASE_URL"] = args.pg_url
    else:
        env.pop("DATABASE_URL", None)
    return env


# --- requests ------------------------------------------------------------------------------------

def wechat_request(number: int, run: str) -> tuple[str, bytes, dict[str, str]]:
    from posdesk.channels.wechat.crypto import WeChatCrypto

    openid = f"obench{number % FOLLOWERS:05d}"
    now = int(time.time())
    xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
           f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[打印机不出纸，换了纸卷也不行（{run}-{number}）]]></Content>"
           f"<MsgId>{run}{number:08d}</MsgId></xml>")
    encrypted, msg_signature, timestamp, nonce = WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt(xml, timestamp=now)
    signature = hashlib.sha1("".join(sorted([TOKEN, str(timestamp), nonce])).encode()).hexdigest()  # noqa: S324 - WeChat's
    body = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
    path = (f"/channels/wechat/?signature={signature}&timestamp={timestamp}&nonce={nonce}"
            f"&encrypt_type=aes&msg_signature={msg_signature}")
    return path, body, {"Content-Type": "text/xml"}


def sms_request(number: int, run: str) -> tuple[str, bytes, dict[str, str]]:
    from posdesk.channels.sms.callbacks import callback_signature

    body = json.dumps([{
        "phone_number": f"139{number % 100_000_000:08d}", "send_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "content": f"终端签到失败 {run}-{number}", "sign_name": "posdesk", "dest_code": "1",
        "sequence_id": int(f"{int(run, 16) % 10**6}{number:08d}"),
    }], ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    return "/channels/sms/aliyun/up", body, {
        "Content-Type": "application/json", "X-Posdesk-Timestamp": timestamp,
        "X-Posdesk-Signature": callback_signature(SMS_SECRET, timestamp, body)}


def open_loop(port: int, make: Any, rate: int, seconds: int, threads: int = 16) -> dict[str, Any]:
    """Send rate × seconds requests on a fixed schedule; latency counts from each one's due time."""
    run = f"{time.time_ns() % 0xFFFFFF:06x}"
    total = rate * seconds
    prepared = [make(i, run) for i in range(total)]  # encryption and signing are the sender's work, not timed
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.perf_counter() + 0.5

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            path, body, headers = prepared[i]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
            finally:
                connection.close()
            done = time.perf_counter()
            with lock:
                latencies.append(done - due)
                statuses[status] = statuses.get(status, 0) + 1

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return {"sent": total, "seconds": elapsed, "rate": total / elapsed, "p50": pct(50), "p95": pct(95),
            "p99": pct(99), "max": ordered[-1] * 1000, "statuses": statuses}


# --- in-process scenarios (run in a child with Django set up) -----------------------------------

def task_prepare() -> dict[str, Any]:
    from posdesk.merchants.models import MerchantContact

    contacts = list(MerchantContact.objects.order_by("pk")[:FOLLOWERS])
    for number, contact in enumerate(contacts):
        contact.wechat_openid = f"obench{number:05d}"
    MerchantContact.objects.bulk_update(contacts, ["wechat_openid"])
    return {"followers": len(contacts)}


def task_in_process(count: int, drain: int) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from posdesk.contact.services import contact_decide
    from posdesk.merchants.models import Merchant
    from posdesk.outbox.models import OutboxMessage
    from posdesk.outbox.services import outbox_drain_fresh, outbox_enqueue

    merchants = list(Merchant.objects.values_list("pk", flat=True)[:300])
    purposes = ["service_reply", "service_follow_up", "survey", "marketing", "incident_notice"]
    now = timezone.now()
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        for i in range(count):
            contact_decide(merchant_id=merchants[i % len(merchants)], channel="sms", purpose=purposes[i % 5], at=now)
        runs.append(count / (time.perf_counter() - started))
    with transaction.atomic():
        for i in range(drain):
            outbox_enqueue(channel="sms", purpose="service_reply", recipient=f"139{i:08d}", body="【posdesk】压测")
    OutboxMessage.objects.filter(status="pending", next_attempt_at__isnull=True).exclude(
        recipient__startswith="139").update(status="sent")  # only the bench's messages are drained
    started = time.perf_counter()
    sent = outbox_drain_fresh(limit=drain)
    drain_seconds = time.perf_counter() - started
    return {"decisions_per_second": statistics.median(runs), "drained": sent,
            "drain_per_second": sent / drain_seconds if drain_seconds else 0.0}


def child(task: str, *extra: str) -> None:
    import django

    django.setup()
    answer = task_prepare() if task == "prepare" else task_in_process(int(extra[0]), int(extra[1]))
    print(json.dumps(answer))


def in_django(env: dict[str, str], *argv: str) -> dict[str, Any]:
    import subprocess

    done = subprocess.run([PYTHON, str(Path(__file__).resolve()), "--task", *argv], env=env, cwd=ROOT,  # noqa: S603
                          check=True, text=True, stdout=subprocess.PIPE)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_db(db: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    env = db_env(db, args)
    if db == "postgres":
        problem = postgres_ensure_database(args.pg_url)
        if problem:
            print(f"[postgres] skipped: {problem}")
            return []
    Path(env["POSDESK_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    print(f"[{db}] preparing (data in {env['POSDESK_DATA_DIR']})", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo", "--no-logins")
    in_django(env, "prepare")
    os.environ.update({k: v for k, v in env.items() if k.startswith("POSDESK_WECHAT") or k == "POSDESK_SMS_CALLBACK_SECRET"})
    rows = []
    with Server(env, port=args.port, workers=args.workers, log_dir=Path(env["POSDESK_DATA_DIR"]) / "logs") as server:
        for name, make in (("wechat", wechat_request), ("sms-up", sms_request)):
            pids = server.pids() + (postgres_backend_pids(args.pg_url) if db == "postgres" else [])
            before = process_cpu_seconds(pids)
            result = open_loop(args.port, make, args.rate, args.duration)
            result["cpu_ms"] = cpu_used(before, process_cpu_seconds(pids)) * 1000 / result["sent"]
            rows.append({"db": db, "scenario": name, **result})
            print(f"  {db:<9} {name:<8} {result['rate']:6.0f} msg/s  p50 {result['p50']:6.1f}  p95 {result['p95']:6.1f}  "
                  f"p99 {result['p99']:6.1f}  max {result['max']:7.1f} ms  statuses {result['statuses']}  "
                  f"server CPU {result['cpu_ms']:.2f} ms/msg", flush=True)
    inner = in_django(env, "in-process", str(args.decisions), str(args.drain))
    print(f"  {db:<9} contact decisions with the database: {inner['decisions_per_second']:,.0f}/s; "
          f"outbox drain (local SMS provider): {inner['drain_per_second']:,.0f} messages/s "
          f"({inner['drained']} sent)", flush=True)
    rows.append({"db": db, "scenario": "in-process", **inner})
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                          "postgres://postgres@127.0.0.1:5432/posdesk_bench_channels"))
    parser.add_argument("--data-dir", default="/tmp/posdesk-bench-channels")  # noqa: S108
    parser.add_argument("--rate", type=int, default=300, help="messages a second (default 300)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per webhook (default 20)")
    parser.add_argument("--decisions", type=int, default=5000, help="contact decisions per run (default 5,000)")
    parser.add_argument("--drain", type=int, default=2000, help="SMS drained from the outbox (default 2,000)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("POSDESK_WEB_WORKERS", "2")))
    parser.add_argument("--port", type=int, default=8198)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--task", nargs="+", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.task:
        child(*args.task)
        return 0
    rows = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        rows += bench_db(db, args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
