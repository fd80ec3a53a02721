"""Issue 4, "Outbox": a worker killed in the middle of sending — the message is sent after restart
and never twice to a provider that supports idempotent sends.

Each test starts a real worker process (tests/killable_worker.py) on the test database, lets it
claim a message and block inside the local SMS provider, kills it with SIGKILL, lets the claim
timeout pass, and runs the periodic sweep in a fresh process, as beat would after a restart. Runs
on SQLite (the test database copied to a file both processes open) and on PostgreSQL."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.db.models import F

from posdesk.core.tests.concurrency import racing_database
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_due_ids
from tests.killable_worker import HANGING

ROOT = Path(__file__).resolve().parent.parent
CLAIM_TIMEOUT_SECONDS = 30
S = OutboxMessage.Status
# a cold start of Django on a busy machine takes a few seconds; this only bounds a hung test
STARTUP_SECONDS = 60


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"  # the file racing_database copied the test database to
    credentials = quote(db["USER"] or "", safe="") + (
        f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    )
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Rig:
    """The files both kinds of process share: the provider's record of what it sent (the local
    SMS file) and of every request it received."""

    def __init__(self, tmp_path: Path) -> None:
        self.sent_file = tmp_path / "sms-sent.jsonl"
        self.requests_file = tmp_path / "provider-requests.jsonl"
        self.env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "POSDESK_DATA_DIR": str(tmp_path / "worker-data"),
            "POSDESK_SMS_BACKEND": "local",
            "POSDESK_SMS_LOCAL_FILE": str(self.sent_file),
            "POSDESK_OUTBOX_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT_SECONDS),
            "POSDESK_LOG_LEVEL": "WARNING",
        }

    def start_worker(self, mode: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.killable_worker", str(self.requests_file), mode],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def recover(self) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "tests.killable_worker", str(self.requests_file), "recover"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=STARTUP_SECONDS * 2,
        )
        output = (done.stdout + done.stderr).decode()
        assert done.returncode == 0, output
        return output

    def lines(self, path: Path) -> list[dict]:
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _wait_until_hanging(worker: subprocess.Popen[bytes]) -> None:
    """Bounded wait for the worker to say it blocks inside the provider."""
    assert worker.stdout is not None
    output = b""
    deadline = time.monotonic() + STARTUP_SECONDS
    with selectors.DefaultSelector() as selector:
        selector.register(worker.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(timeout=left):
                continue
            chunk = os.read(worker.stdout.fileno(), 65536)
            if not chunk:
                pytest.fail(f"the worker exited before it reached the provider:\n{output.decode()}")
            output += chunk
            if HANGING.encode() in output:
                return
    pytest.fail(f"the worker did not reach the provider within {STARTUP_SECONDS} s:\n{output.decode()}")


def _kill(worker: subprocess.Popen[bytes]) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=10) == -signal.SIGKILL


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("mode", "sent_before_the_restart"),
    [("hang-before-accepting", 0), ("hang-after-accepting", 1)],
    ids=["killed-before-the-provider-accepted", "killed-after-the-provider-accepted"],
)
def test_a_message_whose_worker_was_killed_is_sent_after_the_restart_exactly_once(
    tmp_path, settings, mode, sent_before_the_restart
):
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = CLAIM_TIMEOUT_SECONDS
    with racing_database(tmp_path):
        # given a message in the outbox (written directly: no on-commit delivery in this process)
        rig = Rig(tmp_path)
        message = OutboxMessage.objects.create(
            channel=OutboxMessage.Channel.SMS,
            purpose=OutboxMessage.Purpose.SERVICE_REPLY,
            recipient="13812345678",
            body="【posdesk】您的工单 T-1001 已受理。",
        )
        key = message.idempotency_key

        # and a worker that claimed it and blocks inside the provider
        worker = rig.start_worker(mode)
        try:
            _wait_until_hanging(worker)
        finally:
            # when the worker is killed mid-send
            if worker.poll() is None:
                _kill(worker)
        message.refresh_from_db()
        assert (message.status, message.provider_message_id) == (S.SENDING, "")
        assert len(rig.lines(rig.sent_file)) == sent_before_the_restart

        # then the claim is left alone while its worker might still be sending
        assert message.pk not in outbox_due_ids()
        message.refresh_from_db()
        assert message.status == S.SENDING

        # and once the claim timeout has passed, the sweep after the restart sends it
        OutboxMessage.objects.filter(pk=message.pk).update(
            claimed_at=F("claimed_at") - timedelta(seconds=CLAIM_TIMEOUT_SECONDS + 1)
        )
        assert "swept 1" in rig.recover()
        message.refresh_from_db()

        # the message ends sent, the killed attempt counted, with the key and provider recorded
        assert message.status == S.SENT
        assert message.attempts == 2
        assert (message.idempotency_key, message.provider) == (key, "local")
        # the provider saw the same key from the killed worker and from the restarted one
        requests = rig.lines(rig.requests_file)
        assert [r["idempotency_key"] for r in requests] == [key, key]
        assert requests[0]["pid"] == worker.pid and requests[1]["pid"] != worker.pid
        # and delivered the message exactly once
        [sent] = rig.lines(rig.sent_file)
        assert (sent["idempotency_key"], sent["mobile"]) == (key, "13812345678")
        assert message.provider_message_id == sent["id"]
