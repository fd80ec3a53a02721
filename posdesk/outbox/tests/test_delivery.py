"""The transactional outbox: delivered after commit, retried with back-off, dead-lettered after
MAX_ATTEMPTS, and sent by exactly one worker however many try."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from posdesk.core.jobs import CoalescedJob
from posdesk.core.tests.concurrency import racing_database, run_together
from posdesk.outbox import services as outbox_services
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import (
    MAX_ATTEMPTS,
    outbox_deliver_one,
    outbox_drain_fresh,
    outbox_due_ids,
    outbox_enqueue,
    outbox_retry_dead,
)
from posdesk.outbox.tasks import outbox_drain, outbox_sweep

START = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
S = OutboxMessage.Status


class FlakyProvider:
    """Fails `failures` times, then delivers; records every call."""

    def __init__(self, failures: int = 10**6) -> None:
        self.failures = failures
        self.calls: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, message: OutboxMessage) -> None:
        with self._lock:
            self.calls.append(message.pk)
            if len(self.calls) <= self.failures:
                raise ConnectionError("provider answered 503")


@pytest.fixture
def provider(monkeypatch):
    def install(failures: int = 10**6) -> FlakyProvider:
        flaky = FlakyProvider(failures)
        configured = outbox_services._backend
        monkeypatch.setattr(outbox_services, "_backend",
                            lambda channel: flaky if channel == OutboxMessage.Channel.SMS else configured(channel))
        return flaky

    return install


def _enqueue(**overrides) -> OutboxMessage:
    fields = {
        "channel": OutboxMessage.Channel.SMS,
        "purpose": OutboxMessage.Purpose.SERVICE_REPLY,
        "recipient": "13812345678",
        "body": "【posdesk】您的工单有新回复",
    }
    return outbox_enqueue(**{**fields, **overrides})


@pytest.mark.django_db
def test_a_message_is_delivered_after_the_commit_and_logged_masked(
    django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.INFO, logger="posdesk.outbox")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = _enqueue()
        message.refresh_from_db()
        assert message.status == S.PENDING  # nothing leaves before the commit
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (S.SENT, 1)
    assert message.sent_at is not None
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "posdesk.outbox")
    assert "138****5678" in logged
    assert "13812345678" not in logged


@pytest.mark.django_db
def test_a_rolled_back_change_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                _enqueue()
                raise RuntimeError("the change that caused it failed")
        except RuntimeError:
            pass
    assert callbacks == []
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_failures_are_retried_with_growing_back_off_then_dead_lettered(provider, time_machine):
    # given a provider that always fails
    flaky = provider()
    time_machine.move_to(START, tick=False)
    message = _enqueue()
    now = START
    expected_waits = [30, 60, 120, 240, 480]

    for attempt in range(1, MAX_ATTEMPTS + 1):
        # when the message is tried
        assert outbox_deliver_one(message_id=message.pk) == (S.DEAD if attempt == MAX_ATTEMPTS else S.PENDING)
        message.refresh_from_db()
        assert message.attempts == attempt
        assert message.last_error == "ConnectionError: provider answered 503"
        if attempt == MAX_ATTEMPTS:
            break
        # then it waits 30 s, 60 s, 120 s … before the sweep picks it up again
        wait = timedelta(seconds=expected_waits[attempt - 1])
        assert message.next_attempt_at == now + wait
        time_machine.move_to(now + wait - timedelta(seconds=1), tick=False)
        assert message.pk not in outbox_due_ids()
        now = now + wait
        time_machine.move_to(now, tick=False)
        assert message.pk in outbox_due_ids()

    # and after MAX_ATTEMPTS it is a dead letter the sweep leaves alone
    assert message.status == S.DEAD
    assert len(flaky.calls) == MAX_ATTEMPTS
    time_machine.move_to(now + timedelta(days=1), tick=False)
    assert message.pk not in outbox_due_ids()
    assert outbox_deliver_one(message_id=message.pk) == "skipped"


@pytest.mark.django_db
def test_the_back_off_stops_growing_at_an_hour(provider, time_machine, monkeypatch):
    from posdesk.outbox import services

    provider()
    monkeypatch.setattr(services, "MAX_ATTEMPTS", 20)
    time_machine.move_to(START, tick=False)
    message = _enqueue()
    message.attempts = 12
    message.save(update_fields=["attempts"])
    outbox_deliver_one(message_id=message.pk)
    message.refresh_from_db()
    assert message.next_attempt_at == START + timedelta(hours=1)


@pytest.mark.django_db
def test_the_sweep_delivers_a_message_once_the_provider_recovers(provider, time_machine):
    flaky = provider(failures=1)
    time_machine.move_to(START, tick=False)
    message = _enqueue()
    outbox_deliver_one(message_id=message.pk)
    time_machine.move_to(START + timedelta(seconds=31), tick=False)

    assert outbox_sweep.delay().get() == 1

    message.refresh_from_db()
    assert (message.status, message.attempts, len(flaky.calls)) == (S.SENT, 2, 2)


@pytest.mark.django_db
def test_the_sweep_leaves_fresh_messages_to_their_own_task(time_machine):
    time_machine.move_to(START, tick=False)
    message = _enqueue()  # its on-commit task never ran (e.g. the worker was down)
    time_machine.move_to(START + timedelta(seconds=30), tick=False)
    assert message.pk not in outbox_due_ids()
    time_machine.move_to(START + timedelta(seconds=61), tick=False)
    assert message.pk in outbox_due_ids()


@pytest.mark.django_db
def test_a_message_stuck_in_sending_is_retried_after_ten_minutes(time_machine):
    time_machine.move_to(START, tick=False)
    message = _enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(status=S.SENDING, claimed_at=START)  # a worker died
    time_machine.move_to(START + timedelta(minutes=9), tick=False)
    assert message.pk not in outbox_due_ids()
    time_machine.move_to(START + timedelta(minutes=11), tick=False)
    assert message.pk in outbox_due_ids()
    assert outbox_deliver_one(message_id=message.pk) == S.SENT


@pytest.mark.django_db
def test_a_sent_message_is_never_sent_again(provider):
    flaky = provider(failures=0)
    message = _enqueue()
    assert outbox_deliver_one(message_id=message.pk) == S.SENT
    assert outbox_deliver_one(message_id=message.pk) == "skipped"
    assert flaky.calls == [message.pk]


@pytest.mark.django_db
def test_a_dead_letter_can_be_retried_from_scratch(provider, django_capture_on_commit_callbacks):
    provider(failures=MAX_ATTEMPTS)
    message = _enqueue()
    for _ in range(MAX_ATTEMPTS):
        outbox_deliver_one(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == S.DEAD

    with django_capture_on_commit_callbacks(execute=True):
        outbox_retry_dead(message=message)

    message.refresh_from_db()
    assert (message.status, message.attempts) == (S.SENT, 1)


@pytest.mark.django_db
def test_channels_without_a_configured_provider_end_as_dead_letters(time_machine):
    message = _enqueue(channel=OutboxMessage.Channel.WECHAT, recipient="oAbC123openid")
    for _ in range(MAX_ATTEMPTS):
        outbox_deliver_one(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == S.DEAD
    assert "WeChat delivery is not configured" in message.last_error


@pytest.mark.django_db(transaction=True)
def test_the_claim_is_exactly_once_when_workers_race(provider, tmp_path):
    # given one pending message and a provider that counts sends
    flaky = provider(failures=0)
    message = OutboxMessage.objects.create(  # written directly: no on-commit delivery before the race
        channel=OutboxMessage.Channel.SMS,
        purpose=OutboxMessage.Purpose.SERVICE_REPLY,
        recipient="13812345678",
        body="【posdesk】您的工单有新回复",
    )

    # when four workers try to deliver it at the same moment
    with racing_database(tmp_path):
        outcomes = run_together(*[lambda: outbox_deliver_one(message_id=message.pk)] * 4)
        message.refresh_from_db()

    # then exactly one sent it and the others skipped
    assert sorted(outcomes) == sorted([S.SENT, "skipped", "skipped", "skipped"])
    assert flaky.calls == [message.pk]
    assert (message.status, message.attempts) == (S.SENT, 1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def published(monkeypatch, settings):
    """Jobs published to the broker (a real worker runs them in tests/test_celery_worker.py)."""
    settings.JOB_KICK_WINDOW_SECONDS = 0.2
    monkeypatch.setattr(outbox_drain.app.conf, "task_always_eager", False)
    calls: list[dict] = []
    monkeypatch.setattr(outbox_drain, "apply_async", lambda *a, **kw: calls.append(kw))
    monkeypatch.setattr(outbox_drain, "delay", lambda *a, **kw: calls.append({"at_once": True}))
    return calls


def test_commits_inside_one_window_publish_one_drain_due_at_its_end(published):
    clock = FakeClock()
    kick = CoalescedJob("posdesk.outbox.tasks.outbox_drain", clock=clock)
    kick()  # the first commit
    clock.now += 0.05
    kick()
    clock.now += 0.1
    kick()
    assert published == [{"countdown": 0.2}]
    clock.now += 0.06  # the window is over: the next commit publishes the next drain
    kick()
    assert published == [{"countdown": 0.2}, {"countdown": 0.2}]


def test_a_zero_window_publishes_a_drain_per_commit(published, settings):
    settings.JOB_KICK_WINDOW_SECONDS = 0
    kick = CoalescedJob("posdesk.outbox.tasks.outbox_drain", clock=FakeClock())
    kick()
    kick()
    assert published == [{"at_once": True}, {"at_once": True}]


@pytest.mark.django_db
def test_a_drain_sends_every_fresh_message_once_and_leaves_retries_to_their_time(provider):
    flaky = provider(failures=1)
    messages = [OutboxMessage.objects.create(  # written directly: no on-commit delivery
        channel=OutboxMessage.Channel.SMS, purpose=OutboxMessage.Purpose.SERVICE_REPLY,
        recipient="13812345678", body=f"消息 {n}") for n in range(5)]

    assert outbox_drain_fresh(batch=2) == 5
    statuses = {m.pk: m.status for m in OutboxMessage.objects.all()}
    assert statuses[messages[0].pk] == S.PENDING  # failed once: waits for its back-off, not the drain
    assert [statuses[m.pk] for m in messages[1:]] == [S.SENT] * 4
    # a second drain (another worker) finds nothing left to send
    assert outbox_drain_fresh() == 0
    assert flaky.calls == [m.pk for m in messages]


@pytest.mark.django_db
def test_a_failure_the_provider_calls_final_is_a_dead_letter_at_once(monkeypatch):
    # given a provider that refuses the message for good (a wrong number: retrying cannot help)
    class Refused(Exception):
        retryable = False

    def refuse(message):
        raise Refused("isv.MOBILE_NUMBER_ILLEGAL")

    monkeypatch.setattr(outbox_services, "_backend", lambda channel: refuse)
    message = _enqueue()
    # when it is tried once
    assert outbox_deliver_one(message_id=message.pk) == S.DEAD
    # then it waits for a person in the dead letters, not for five more attempts
    message.refresh_from_db()
    assert (message.attempts, message.next_attempt_at) == (1, None)
    assert "MOBILE_NUMBER_ILLEGAL" in message.last_error


# --- a worker killed mid-send (the real kill: tests/test_outbox_worker_killed.py) ---------------------


@pytest.mark.django_db
def test_every_message_has_its_own_idempotency_key():
    first, second = _enqueue(), _enqueue()
    assert first.idempotency_key.startswith("posdesk-")
    assert first.idempotency_key != second.idempotency_key
    assert OutboxMessage.objects.get(pk=first.pk).idempotency_key == first.idempotency_key


@pytest.mark.django_db
def test_every_attempt_hands_the_backend_the_same_idempotency_key(monkeypatch, time_machine):
    # given a provider that fails once and records the key of every attempt
    keys: list[str] = []

    def send(message):
        keys.append(message.idempotency_key)
        if len(keys) == 1:
            raise ConnectionError("provider answered 503")

    monkeypatch.setattr(outbox_services, "_backend", lambda channel: send)
    time_machine.move_to(START, tick=False)
    message = _enqueue()

    # when it is tried, fails, and is tried again after its back-off
    outbox_deliver_one(message_id=message.pk)
    time_machine.move_to(START + timedelta(seconds=31), tick=False)
    assert outbox_sweep.delay().get() == 1

    # then both attempts carried the message's key
    message.refresh_from_db()
    assert message.status == S.SENT
    assert keys == [message.idempotency_key] * 2


@pytest.mark.django_db
def test_a_claim_older_than_the_configured_timeout_is_handed_out_again_and_the_lost_attempt_counts(
    provider, settings, time_machine
):
    # given a message whose worker died after claiming it (the sweep's timeout is 45 s here)
    flaky = provider(failures=0)
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = 45
    time_machine.move_to(START, tick=False)
    message = _enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(status=S.SENDING, claimed_at=START)

    # when the sweep runs before the timeout, then just after it
    time_machine.move_to(START + timedelta(seconds=44), tick=False)
    assert message.pk not in outbox_due_ids()
    time_machine.move_to(START + timedelta(seconds=46), tick=False)
    assert message.pk in outbox_due_ids()

    # then it is sent, and its record shows the attempt the dead worker made
    assert outbox_deliver_one(message_id=message.pk) == S.SENT
    message.refresh_from_db()
    assert (message.attempts, flaky.calls) == (2, [message.pk])
    assert "worker sending it stopped" in message.last_error


@pytest.mark.django_db
def test_a_message_that_kills_every_worker_it_reaches_ends_as_a_dead_letter(settings, time_machine):
    # given a message whose attempts all died with their worker, the last one now
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = 60
    time_machine.move_to(START, tick=False)
    message = _enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=S.SENDING, claimed_at=START, attempts=MAX_ATTEMPTS - 1
    )

    # when the sweep finds its claim abandoned
    time_machine.move_to(START + timedelta(minutes=2), tick=False)
    assert message.pk not in outbox_due_ids()

    # then a person looks at it instead of another worker dying on it
    message.refresh_from_db()
    assert (message.status, message.attempts) == (S.DEAD, MAX_ATTEMPTS)
