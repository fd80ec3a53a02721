"""A real Celery worker process against the machine's Redis delivers what the outbox holds.

Runs on PostgreSQL (the worker process must see the test database, which an in-memory SQLite
test database is not); CI requires it in the PostgreSQL run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from posdesk.outbox.models import OutboxMessage

REDIS_URL = os.environ.get("POSDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _reset_pool() -> None:
    # the producer pool holds connections to the previous broker URL
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_broker():
    if not _redis_answers():
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url = REDIS_URL
    celery_app.conf.task_always_eager = False
    _reset_pool()
    with celery_app.connection_for_write() as conn:  # start from an empty queue
        conn.default_channel.queue_purge("celery")
    yield REDIS_URL
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous
    _reset_pool()


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_the_acknowledgement_of_a_new_ticket(world, open_ticket, redis_broker):
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL test database, which a worker process can open")
    # given a worker process on the test database and Redis
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        # when a ticket is opened (its acknowledgement SMS is enqueued on commit)
        ticket = open_ticket(channel="phone")  # phoned in: acknowledged at any hour (no quiet-hours hold)
        message = OutboxMessage.objects.get(ticket_id=ticket.pk)
        assert message.status == OutboxMessage.Status.PENDING
        # then the worker sends it
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            message.refresh_from_db()
            if message.status == OutboxMessage.Status.SENT:
                break
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else "worker died"
            time.sleep(0.2)
        assert message.status == OutboxMessage.Status.SENT, "the worker did not deliver within 60 s"
        assert message.attempts == 1
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
