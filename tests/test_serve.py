"""`posdesk serve` on the embedded defaults: web server, worker and scheduler in one command, no
servers needed — a ticket opened through the API has its acknowledgement delivered by the worker
over the file-system queue."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
from posdesk.accounts.models import Organisation, User
from posdesk.accounts.services import api_token_issue
from posdesk.merchants.models import District, Merchant, MerchantContact
org = Organisation.objects.create(code="sc", name="服务公司", kind="service_company")
agent = User.objects.create(username="agent", role="agent", organisation=org)
merchant = Merchant.objects.create(mid="898330160120021", name="西湖便利店", district=District.objects.get(code="xihu"))
MerchantContact.objects.create(merchant=merchant, name="张老板", mobile="13812345678", is_primary=True)
print(api_token_issue(user=agent))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "posdesk.cli", *args], cwd=ROOT, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=180, check=True, **kwargs)


def test_serve_runs_web_worker_and_scheduler_on_the_embedded_defaults(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "REDIS_URL"))}
    env["POSDESK_DATA_DIR"] = str(tmp_path)
    _run(["migrate", "-v", "0"], env)
    token = _run(["shell", "-c", SETUP], env).stdout.strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "posdesk.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:  # noqa: S310
                    ready = json.loads(response.read())
                break
            except OSError:
                assert server.poll() is None, "posdesk serve exited"
                assert time.monotonic() < deadline, "posdesk serve did not answer within 60 s"
                time.sleep(0.3)
        assert ready["status"] == "ok"
        request = urllib.request.Request(  # noqa: S310
            f"{base}/api/v1/tickets", method="POST",
            # the merchant phoned it in: the acknowledgement answers them at any hour (no quiet-hours hold)
            data=json.dumps({"text": "打印机不出纸", "mid": "898330160120021", "channel": "phone"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 201
            ticket = json.loads(response.read())
        db = sqlite3.connect(tmp_path / "posdesk.sqlite3")
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            row = db.execute("SELECT status FROM outbox_outboxmessage WHERE ticket_id = ?", (ticket["id"],)).fetchone()
            status = row[0] if row else None
            if status == "sent":
                break
            time.sleep(0.5)
        assert status == "sent", "the embedded worker did not deliver the acknowledgement"
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def test_the_web_application_is_frozen_out_of_the_collectors_reach_once_loaded(tmp_path):
    # what a gunicorn worker does when it loads config.wsgi: the application and every view module
    # (the URL configuration) are loaded, then frozen, so full collections walk only newer objects
    env = {**os.environ, "POSDESK_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DATABASE_URL", None)
    probe = ("import gc, sys; import config.wsgi; "
             "print(gc.get_freeze_count(), len(gc.get_objects()), 'posdesk.tickets.api' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,  # noqa: S603
                         timeout=120, check=True).stdout.split()
    frozen, left, views_loaded = int(out[0]), int(out[1]), out[2] == "True"
    assert views_loaded
    assert frozen > 100_000 and left < frozen / 20, (frozen, left)
