#!/usr/bin/env python
"""posdesk benchmarks (issue 2): ticket creation through the API beside a bare Django JSON view,
and the console queue page and the ticket list API at 1,000,000 tickets.

For each database (SQLite, the embedded default; PostgreSQL) this script
  1. prepares a database under --data-dir (never the repository): migrate, `posdesk demo
     --tickets N` (idempotent), an API token and a session for the demo agent;
  2. starts the real server as `posdesk serve` does (gunicorn config.wsgi, same worker count),
     with bench/settings_bench.py adding only the bare view /bench/bare;
  3. drives it from a second process on 127.0.0.1 with wrk (or, without wrk, a small threaded
     Python client), each scenario bounded in time, and
  4. prints rate, p50, p95, p99 and errors per scenario (and writes them as JSON).

    make bench                              # both databases when PostgreSQL answers
    .venv/bin/python bench/run.py --db sqlite --tickets 1000000 --duration 20
    .venv/bin/python bench/run.py --db postgres --explain   # query plans of the list filters

Figures depend on the machine and on what else runs on it; see bench/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/posdesk_bench"
# (the merchant's words, the category and priority `posdesk triage classify` gives them): an agent
# entering a phone report sets them, and triage would set them seconds after any other create.
# Left as consultation / P3 (no triage worker runs during the benchmark), the creation runs put tens
# of thousands of one kind of ticket at the head of the queue and the read scenarios that follow
# measured that artefact (PostgreSQL read 43,000 of them to fill a page of hardware tickets).
REPORT_TEXTS = [
    ("刷卡没反应，屏幕显示A0，签到也签不上", "transaction", "P1"),
    ("打印机不出纸，换了新纸卷也不行", "hardware", "P2"),
    ("一直显示无网络，流量卡信号满格但连不上后台", "network", "P1"),
    ("客人刷卡扣了两次钱，小票只打出一张", "transaction", "P1"),
]


# --- results --------------------------------------------------------------------------------

@dataclass
class Result:
    db: str
    scenario: str
    label: str
    requests: int = 0
    seconds: float = 0.0
    rate: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    cpu_ms: float = 0.0  # server CPU per request: gunicorn workers (+ PostgreSQL backends)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def print_table(results: list[Result], out: Any = sys.stdout) -> None:
    header = f"{'db':<9} {'scenario':<12} {'request':<44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} " \
             f"{'p99 ms':>8} {'errors':>7} {'cpu ms':>7}  note"
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in results:
        print(f"{r.db:<9} {r.scenario:<12} {r.label[:44]:<44} {r.rate:>8.0f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} "
              f"{r.p99_ms:>8.1f} {r.errors:>7} {r.cpu_ms:>7.2f}  {r.note}", file=out)


def markdown_table(results: list[Result]) -> str:
    lines = ["| db | scenario | request | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/req | note |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r.db} | {r.scenario} | `{r.label}` | {r.rate:.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | "
                     f"{r.p99_ms:.1f} | {r.errors} | {r.cpu_ms:.2f} | {r.note} |")
    return "\n".join(lines)


# --- the database and the server -------------------------------------------------------------

def db_env(db: str, args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env["POSDESK_DATA_DIR"] = str(Path(args.data_dir) / db)
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if db == "postgres":
        env["DATABASE_URL"] = args.pg_url
    else:
        env.pop("DATABASE_URL", None)
    return env


def postgres_ensure_database(url: str) -> str | None:
    """Create the benchmark database if it is missing. Returns why PostgreSQL cannot be used."""
    from urllib.parse import urlparse

    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if not name or name in ("postgres", "test"):
        return f"refusing to benchmark in database {name!r}"
    admin_url = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer at {parts.hostname}:{parts.port}: {exc}".splitlines()[0]
    return None


def manage(env: dict[str, str], *argv: str, capture: bool = False) -> str:
    command = [PYTHON, "-m", "posdesk.cli", *argv]
    done = subprocess.run(command, env=env, cwd=ROOT, check=True, text=True,  # noqa: S603 - our argv
                          stdout=subprocess.PIPE if capture else None)
    return done.stdout or ""


def in_django(env: dict[str, str], task: str, *extra: str) -> dict[str, Any]:
    """Run one of the `--task` helpers below in a Django process and return its JSON answer."""
    done = subprocess.run([PYTHON, str(Path(__file__).resolve()), "--task", task, *extra],  # noqa: S603
                          env=env, cwd=ROOT, check=True, text=True, stdout=subprocess.PIPE)
    return json.loads(done.stdout.strip().splitlines()[-1])


class Server:
    """gunicorn as `posdesk serve` starts it, on a loopback port, for the length of a `with`."""

    def __init__(self, env: dict[str, str], *, port: int, workers: int, log_dir: Path) -> None:
        self.env, self.port, self.workers, self.log_dir = env, port, workers, log_dir
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout = open(self.log_dir / "gunicorn.out.log", "ab")  # noqa: SIM115 - closed in __exit__
        self.stderr = open(self.log_dir / "gunicorn.err.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - our own argv
            [PYTHON, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--access-logfile", "-", "--graceful-timeout", "10"],
            env=self.env, cwd=ROOT, stdout=self.stdout, stderr=self.stderr,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_dir / 'gunicorn.err.log'}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def pids(self) -> list[int]:
        return [self.process.pid, *child_pids(self.process.pid)] if self.process else []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: Any) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stdout.close()
        self.stderr.close()


def status_of(url: str, headers: dict[str, str]) -> tuple[int, int]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, len(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, 0


def process_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each of these processes so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings; a process that started in between counts in full, one that
    ended in between is lost (so the figure can only be low, never negative)."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def child_pids(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
            if ppid == parent:
                children.append(int(entry.name))
    return children


def postgres_backend_pids(url: str) -> list[int]:
    """The server processes serving our benchmark database (the gunicorn workers' connections)."""
    from urllib.parse import urlparse

    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                            [name]).fetchall()
    return [r[0] for r in rows]


# --- load generators ---------------------------------------------------------------------------

@dataclass
class Load:
    """One scenario's requests: a GET path, or a POST whose body and Idempotency-Key change per request."""

    path: str
    headers: dict[str, str]
    expected: int = 200
    method: str = "GET"
    post_merchants: list[list[str]] = field(default_factory=list)  # [mid, sn] for ticket creation


LUA_COMMON = r"""
local threads = {}
local run_id = "%(run_id)s"
local expected = %(expected)d
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  bad = 0
  counter = 0
  sample = ""
end
function response(status, headers, body)
  if status ~= expected then
    bad = bad + 1
    if sample == "" then sample = tostring(status) .. " " .. string.sub(body or "", 1, 300) end
  end
end
function done(summary, latency, requests)
  local bad_total = 0
  local first = ""
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
    if first == "" then first = t:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %%d, "duration_us": %%d, "bad_status": %%d, "socket_errors": %%d, ' ..
    '"p50": %%d, "p95": %%d, "p99": %%d, "max": %%d}\n',
    summary.requests, summary.duration, bad_total, e.connect + e.read + e.write + e.timeout,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(95)),
    math.floor(latency:percentile(99)), math.floor(latency.max)))
  if first ~= "" then io.write("BENCH_SAMPLE " .. string.gsub(first, "\n", " ") .. "\n") end
end
"""

LUA_GET = r"""
wrk.method = "GET"
wrk.path = "%(path)s"
%(headers)s
"""

LUA_POST = r"""
local merchants = { %(merchants)s }
local texts = { %(texts)s }
function request()
  counter = counter + 1
  local m = merchants[(counter %% #merchants) + 1]
  local text = texts[(counter %% #texts) + 1]
  local body = string.format('{"text": "%%s（压测 %%d）", "mid": "%%s", "sn": "%%s", "channel": "api", ' ..
                             '"category": "%%s", "priority": "%%s"}', text[1], counter, m[1], m[2], text[2], text[3])
  local headers = {}
%(header_lines)s
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = run_id .. "-" .. tid .. "-" .. counter
  return wrk.format("POST", "%(path)s", headers, body)
end
"""


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_script(load: Load, run_id: str) -> str:
    common = LUA_COMMON % {"run_id": run_id, "expected": load.expected}
    if load.method == "GET":
        headers = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in load.headers.items())
        return LUA_GET % {"path": load.path, "headers": headers} + common
    merchants = ", ".join(f"{{{_lua_string(m)}, {_lua_string(s)}}}" for m, s in load.post_merchants)
    texts = ", ".join("{" + ", ".join(_lua_string(v) for v in report) + "}" for report in REPORT_TEXTS)
    header_lines = "\n".join(f"  headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in load.headers.items())
    return common + LUA_POST % {"merchants": merchants, "texts": texts, "path": load.path,
                                "header_lines": header_lines}


def run_wrk(base: str, load: Load, *, seconds: int, connections: int) -> dict[str, Any]:
    run_id = f"bench{time.time_ns():x}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as script:
        script.write(wrk_script(load, run_id))
    try:
        done = subprocess.run(  # noqa: S603 - our own argv
            [shutil.which("wrk") or "wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "-s", script.name,
             f"{base}{load.path}"],
            check=True, text=True, capture_output=True, timeout=seconds + 60,
        )
    finally:
        os.unlink(script.name)
    stats: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            stats = json.loads(line[len("BENCH_JSON "):])
        elif line.startswith("BENCH_SAMPLE "):
            stats["sample"] = line[len("BENCH_SAMPLE "):][:300]
    if not stats:
        raise RuntimeError(f"wrk gave no figures:\n{done.stdout}\n{done.stderr}")
    return {
        "requests": stats["requests"], "seconds": stats["duration_us"] / 1e6,
        "errors": stats["bad_status"] + stats["socket_errors"], "p50": stats["p50"] / 1000,
        "p95": stats["p95"] / 1000, "p99": stats["p99"] / 1000, "sample": stats.get("sample", ""),
    }


def run_python_client(base: str, load: Load, *, seconds: int, connections: int) -> dict[str, Any]:
    """The fallback when wrk is missing: `connections` threads with keep-alive connections."""
    import http.client

    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = [0]
    sample: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    run_id = f"bench{time.time_ns():x}"

    def worker(number: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine: list[float] = []
        bad = 0
        counter = 0
        while time.monotonic() < deadline:
            counter += 1
            headers = dict(load.headers)
            body = None
            if load.method == "POST":
                mid, sn = load.post_merchants[counter % len(load.post_merchants)]
                text, category, priority = REPORT_TEXTS[counter % len(REPORT_TEXTS)]
                body = json.dumps({"text": f"{text}（压测 {counter}）", "mid": mid, "sn": sn, "channel": "api",
                                   "category": category, "priority": priority})
                headers.update({"Content-Type": "application/json", "Idempotency-Key": f"{run_id}-{number}-{counter}"})
            started = time.perf_counter()
            try:
                conn.request(load.method, load.path, body=body, headers=headers)
                answer = conn.getresponse()
                content = answer.read()
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                continue
            mine.append(time.perf_counter() - started)
            if answer.status != load.expected:
                bad += 1
                if not sample:
                    sample.append(f"{answer.status} {content[:300]!r}")
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    return {"requests": len(latencies), "seconds": elapsed, "errors": errors[0], "p50": pct(0.50),
            "p95": pct(0.95), "p99": pct(0.99), "sample": sample[0] if sample else ""}


def measure(db: str, scenario: str, label: str, server: Server, load: Load, args: argparse.Namespace,
            seconds: int) -> Result:
    runner = run_wrk if args.client == "wrk" else run_python_client
    base = server.base
    # a short warm-up so each worker has loaded code and opened its connection
    runner(base, load, seconds=1, connections=args.connections)
    # CPU used per request by the server (and by PostgreSQL for it): far less disturbed than the
    # rate by other work on a shared machine
    db_pids = postgres_backend_pids(args.pg_url) if db == "postgres" else []
    web_before, db_before = process_cpu_seconds(server.pids()), process_cpu_seconds(db_pids)
    figures = runner(base, load, seconds=seconds, connections=args.connections)
    if db == "postgres":  # connections may have been replaced during the run
        db_pids = sorted(set(db_pids) | set(postgres_backend_pids(args.pg_url)))
    web_cpu = cpu_used(web_before, process_cpu_seconds(server.pids()))
    db_cpu = cpu_used(db_before, process_cpu_seconds(db_pids))
    result = Result(
        db=db, scenario=scenario, label=label, requests=figures["requests"], seconds=round(figures["seconds"], 2),
        rate=figures["requests"] / figures["seconds"] if figures["seconds"] else 0.0,
        p50_ms=round(figures["p50"], 2), p95_ms=round(figures["p95"], 2), p99_ms=round(figures["p99"], 2),
        errors=figures["errors"],
    )
    if figures["sample"]:
        result.extra["first_unexpected_answer"] = figures["sample"]
    if result.requests:
        result.cpu_ms = round((web_cpu + db_cpu) * 1000 / result.requests, 2)
        result.extra.update(web_cpu_ms_per_request=round(web_cpu * 1000 / result.requests, 3),
                            db_cpu_ms_per_request=round(db_cpu * 1000 / result.requests, 3))
    print(f"  {scenario:<12} {label[:60]:<60} {result.rate:7.0f}/s p50 {result.p50_ms:6.1f} "
          f"p95 {result.p95_ms:6.1f} p99 {result.p99_ms:6.1f} ms errors {result.errors} "
          f"cpu {result.cpu_ms:.2f} ms/req", flush=True)
    return result


# --- one database ----------------------------------------------------------------------------------

def list_filters(sample: dict[str, Any]) -> list[tuple[str, str]]:
    """The common filters of the queue and the list API (issue 2), as query strings."""
    return [
        ("newest (no filter)", ""),
        ("status=new", "status=new"),
        ("priority=P1", "priority=P1"),
        ("category=hardware", "category=hardware"),
        ("district=xihu", f"district={sample['district']}"),
        ("assignee=<agent>", f"assignee={sample['assignee_id']}"),
        ("q=<MID>", f"q={sample['mid']}"),
        ("status=new&priority=P1&district", f"status=new&priority=P1&district={sample['district']}"),
    ]


def bench_db(db: str, args: argparse.Namespace) -> list[Result]:
    env = db_env(db, args)
    if db == "postgres":
        problem = postgres_ensure_database(args.pg_url)
        if problem:
            print(f"[postgres] skipped: {problem}")
            return [Result(db=db, scenario="-", label="-", note=f"skipped: {problem}")]
    Path(env["POSDESK_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    print(f"[{db}] preparing: migrate, demo --tickets {args.tickets:,} (data in {env['POSDESK_DATA_DIR']})", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo", "--tickets", str(args.tickets), "--no-logins")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    sample = in_django(env, "prepare")
    if args.explain:
        explain = in_django(env, "explain")
        print_explain(db, explain)
    api_headers = {"Authorization": f"Bearer {sample['token']}"}
    session_headers = {"Cookie": f"sessionid={sample['session']}"}
    results: list[Result] = []
    scenarios = set(args.scenarios.split(","))
    with Server(env, port=args.port, workers=args.workers, log_dir=Path(env["POSDESK_DATA_DIR"]) / "logs") as server:
        base = server.base
        print(f"[{db}] gunicorn config.wsgi on {base}, {args.workers} workers; {args.connections} clients; "
              f"{sample['tickets']:,} tickets", flush=True)
        if "bare" in scenarios:
            results.append(measure(db, "bare", "GET /bench/bare", server, Load("/bench/bare", {}), args, args.duration))
        if "create" in scenarios:
            before = in_django(env, "count")["tickets"]
            load = Load("/api/v1/tickets", api_headers, expected=201, method="POST",
                        post_merchants=sample["merchants"])
            result = measure(db, "create", "POST /api/v1/tickets (Idempotency-Key)", server, load, args, args.duration)
            created = in_django(env, "count")["tickets"] - before
            result.extra["tickets_created_incl_warmup"] = created
            result.note = f"{created:,} tickets written"
            results.append(result)
            in_django(env, "analyze")
        if "list" in scenarios:
            for label, query in list_filters(sample):
                path = "/api/v1/tickets" + (f"?{query}" if query else "")
                status, _size = status_of(base + path, api_headers)
                if status != 200:
                    results.append(Result(db=db, scenario="list-api", label=label, note=f"answers {status}"))
                    continue
                results.append(measure(db, "list-api", f"GET {path}"[:90], server, Load(path, api_headers), args,
                                       args.read_duration))
        if "queue" in scenarios:
            for label, query in list_filters(sample):
                path = "/console/" + (f"?{query}" if query else "")
                status, size = status_of(base + path, session_headers)
                if status != 200 or size < 500:
                    note = f"answers {status}" if status != 200 else f"only {size} bytes: queue page not built yet?"
                    results.append(Result(db=db, scenario="queue-page", label=label, note=note))
                    print(f"  queue-page   {label}: {note}", flush=True)
                    continue
                results.append(measure(db, "queue-page", f"GET {path}"[:90], server, Load(path, session_headers), args,
                                       args.read_duration))
    return results


def print_explain(db: str, plans: dict[str, Any]) -> None:
    print(f"[{db}] query plans of the list filters (the selector's own SQL, EXPLAIN)")
    for label, queries in plans.items():
        print(f"  -- {label}")
        for query in queries:
            print(f"     [{query['ms']:.1f} ms] {query['sql'][:160]}")
            for line in query["plan"]:
                print(f"         {line}")


# --- helpers that run inside Django (python bench/run.py --task …) ---------------------------------

def task(name: str) -> None:
    import django

    django.setup()
    answers = {"prepare": task_prepare, "count": task_count, "analyze": task_analyze, "explain": task_explain}
    print(json.dumps(answers[name](), ensure_ascii=False, default=str))


def task_count() -> dict[str, Any]:
    from posdesk.tickets.models import Ticket

    return {"tickets": Ticket.objects.count()}


def task_analyze() -> dict[str, Any]:
    """After the creation run, before the reads: on PostgreSQL, the statistics autovacuum would
    refresh within a minute of such a burst (migration tickets 0008 re-analyses the tickets table
    after 1 % of it changed; its check runs once a minute, so a run's reads could otherwise start
    before it and meet plans made for a table without the run's 10,000 new tickets). SQLite keeps
    the statistics the build left, as the product does (nothing re-analyses them)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {"analyzed": False}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")
    return {"analyzed": True, "seconds": round(time.perf_counter() - started, 2)}


def task_prepare() -> dict[str, Any]:
    """A token and a console session for the demo agent, and the values the scenarios filter by."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db.models import Count

    from posdesk.accounts.models import User
    from posdesk.accounts.services import api_token_issue
    from posdesk.merchants.models import Merchant
    from posdesk.terminals.models import Terminal
    from posdesk.tickets.models import Ticket

    agent = User.objects.get(username="agent")
    session = SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session.create()
    merchants = [
        [mid, sn] for mid, sn in Terminal.objects.filter(
            merchant__status=Merchant.Status.ACTIVE, status=Terminal.Status.ACTIVE
        ).order_by("pk").values_list("merchant__mid", "sn")[:64]
    ]
    # a merchant with a typical number of tickets, for the search by MID
    typical = (Ticket.objects.filter(merchant__isnull=False).values("merchant_id").annotate(n=Count("id"))
               .order_by("n"))
    middle = typical.count() // 2
    merchant_id = typical[middle]["merchant_id"]
    busiest_agent = (Ticket.objects.filter(assignee__role="agent").values("assignee_id").annotate(n=Count("id"))
                     .order_by("-n").first())
    return {
        "token": api_token_issue(user=agent, name="bench"),
        "session": session.session_key,
        "merchants": merchants,
        "mid": Merchant.objects.get(pk=merchant_id).mid,
        "district": "xihu",
        "assignee_id": busiest_agent["assignee_id"] if busiest_agent else agent.pk,
        "tickets": Ticket.objects.count(),
    }


def task_explain() -> dict[str, Any]:
    """Run the list API's selector for each common filter, capture its SQL, and EXPLAIN it."""
    from django.db import connection

    from posdesk.accounts.models import User
    from posdesk.tickets.api import _csv
    from posdesk.tickets.selectors import TicketFilters, ticket_queue

    sample = task_prepare()
    agent = User.objects.get(username="agent")
    plans: dict[str, Any] = {}
    # the list API as asked, and the console queue, which shows open tickets unless a status is chosen
    variants = [(label, query, False) for label, query in list_filters(sample)]
    variants += [(f"console: open + {label}", query, True) for label, query in list_filters(sample)
                 if "status=" not in query]
    for label, query, open_only in variants:
        params = dict(part.split("=", 1) for part in query.split("&") if part)
        filters = TicketFilters(
            status=_csv(params.get("status", "")), priority=_csv(params.get("priority", "")),
            category=_csv(params.get("category", "")), district=params.get("district", ""),
            assignee=params.get("assignee", ""), q=params.get("q", ""), open_only=open_only,
        )
        captured: list[tuple[str, Any, float]] = []

        def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                captured.append((sql, params, (time.perf_counter() - started) * 1000))  # noqa: B023

        with connection.execute_wrapper(capture):
            ticket_queue(agent, filters)
        plans[label] = []
        for sql, params, ms in captured:
            if "tickets_ticket" not in sql:
                continue
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                    plan = [row[0] for row in cursor.fetchall()]
                else:
                    cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                    plan = [row[-1] for row in cursor.fetchall()]
            plans[label].append({"sql": sql, "ms": ms, "plan": plan})
    return plans


# --- main ----------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both",
                        help="database(s) to measure; 'both' skips PostgreSQL if it does not answer")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL),
                        help="PostgreSQL database for the benchmark (created if missing; never 'postgres' or 'test')")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets in the database for the read scenarios")
    parser.add_argument("--duration", type=int, default=20, help="seconds per write / bare scenario")
    parser.add_argument("--read-duration", type=int, default=8, help="seconds per list / queue scenario")
    parser.add_argument("--connections", type=int, default=4, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("POSDESK_WEB_WORKERS", "2")),
                        help="gunicorn workers (posdesk serve's default)")
    parser.add_argument("--port", type=int, default=8199)
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR", "/tmp/posdesk-bench"),  # noqa: S108
                        help="where the benchmark databases live (not the repository)")
    parser.add_argument("--scenarios", default="bare,create,list,queue")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--explain", action="store_true", help="print the query plans of the list filters")
    parser.add_argument("--json", help="write the figures to this file (default: <data-dir>/results.json)")
    parser.add_argument("--task", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.task:
        task(args.task)
        return 0
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: list[Result] = []
    for db in databases:
        results.extend(bench_db(db, args))
    print()
    print_table(results)
    print()
    print(markdown_table(results))
    out = Path(args.json or Path(args.data_dir) / "results.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "started": started, "command": " ".join([Path(PYTHON).name, *sys.argv]), "tickets": args.tickets,
        "connections": args.connections, "workers": args.workers, "client": args.client,
        "results": [asdict(r) for r in results],
    }, ensure_ascii=False, indent=2))
    print(f"\nfigures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
