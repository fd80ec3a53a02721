"""`idempotent_create`: one answer per (principal, operation, key), and pruning of old records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from posdesk.core.errors import Conflict, ValidationFailed
from posdesk.core.idempotency import idempotency_prune, idempotent_create
from posdesk.core.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


class Producer:
    """Counts how often the create really ran."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> tuple[int, dict]:
        self.calls += 1
        return 201, {"id": self.calls}


def _create(produce, *, key="key-1", payload=None, principal="user:1", scope="ticket.create"):
    return idempotent_create(
        principal=principal,
        scope=scope,
        key=key,
        payload=payload if payload is not None else {"text": "刷卡没反应"},
        produce=produce,
    )


def test_same_key_and_same_body_replays_the_first_answer():
    produce = Producer()
    first, replayed_first = _create(produce)
    second, replayed_second = _create(produce)
    assert first == second == (201, {"id": 1})
    assert (replayed_first, replayed_second) == (False, True)
    assert produce.calls == 1
    assert IdempotencyRecord.objects.count() == 1


def test_the_body_is_compared_whatever_the_key_order():
    produce = Producer()
    _create(produce, payload={"a": 1, "b": 2})
    assert _create(produce, payload={"b": 2, "a": 1})[1] is True


def test_same_key_with_another_body_is_a_conflict():
    produce = Producer()
    _create(produce)
    with pytest.raises(Conflict) as refused:
        _create(produce, payload={"text": "打印机不出纸"})
    assert refused.value.code == "idempotency_key_reused"
    assert refused.value.status == 409
    assert produce.calls == 1


def test_different_principals_and_operations_do_not_share_keys():
    produce = Producer()
    _create(produce, principal="user:1")
    _create(produce, principal="user:2")
    _create(produce, principal="user:1", scope="merchant.create")
    assert produce.calls == 3


def test_without_a_key_every_call_creates():
    produce = Producer()
    assert _create(produce, key=None) == ((201, {"id": 1}), False)
    assert _create(produce, key=None) == ((201, {"id": 2}), False)
    assert not IdempotencyRecord.objects.exists()


def test_the_key_is_trimmed():
    produce = Producer()
    _create(produce, key=" abc ")
    assert _create(produce, key="abc")[1] is True


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_an_empty_or_overlong_key_is_refused(key):
    produce = Producer()
    with pytest.raises(ValidationFailed) as refused:
        _create(produce, key=key)
    assert refused.value.code == "invalid_idempotency_key"
    assert produce.calls == 0


def test_a_failed_create_keeps_no_record_so_a_retry_can_succeed():
    def failing() -> tuple[int, dict]:
        raise ValidationFailed(code="invalid_mid")

    with pytest.raises(ValidationFailed):
        _create(failing)
    assert not IdempotencyRecord.objects.exists()
    assert _create(Producer()) == ((201, {"id": 1}), False)


def test_pruning_drops_records_older_than_the_ttl_only(settings, time_machine):
    settings.IDEMPOTENCY_TTL_HOURS = 48
    start = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    _create(Producer(), key="old")
    time_machine.move_to(start + timedelta(hours=24), tick=False)
    _create(Producer(), key="recent")

    time_machine.move_to(start + timedelta(hours=48, minutes=1), tick=False)
    assert idempotency_prune() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


def test_pruning_runs_as_a_background_job(settings, time_machine):
    from posdesk.core.tasks import idempotency_prune as prune_task

    start = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    _create(Producer(), key="old")
    time_machine.move_to(start + timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS + 1), tick=False)
    assert prune_task.delay().get() == 1
    assert not IdempotencyRecord.objects.exists()


def test_a_key_can_be_used_again_after_pruning(settings, time_machine):
    start = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    produce = Producer()
    _create(produce)
    time_machine.move_to(start + timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS + 1), tick=False)
    idempotency_prune()
    assert _create(produce, payload={"text": "别的内容"}) == ((201, {"id": 2}), False)
