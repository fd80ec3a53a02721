"""A callback is an outbound contact: it reaches the agents' queue through the contact gate and the
transactional outbox (a `phone` message whose backend releases it). Allowed at once as the answer to
the merchant's own call; a later try the gate defers waits, out of the queue, until it is allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from posdesk.channels.models import CallbackTask
from posdesk.channels.phone.services import call_event_record, callback_complete, callback_take
from posdesk.channels.selectors import callback_queue_for_user, contact_overview_for_call
from posdesk.channels.services import callback_request, callbacks_cancel_refused
from posdesk.contact.models import ContactDecision, ContactSource
from posdesk.contact.services import contact_do_not_disturb_set, contact_opt_out
from posdesk.core.errors import Conflict
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_deliver_one, outbox_due_ids

pytestmark = pytest.mark.django_db

MONDAY_1000 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
MONDAY_2030 = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)  # Monday 20:30: half an hour before quiet hours
TUESDAY_0800 = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # the end of the quiet hours
S = CallbackTask.Status


@pytest.fixture(autouse=True)
def _callback_standard(settings):
    settings.CALLBACK_TARGET_MINUTES = 15


def missed_call(at: datetime, caller: str = "13812345678", call_id: str = "CC-1") -> CallbackTask:
    call_event_record(call_id=call_id, event="missed", caller=caller, at=at)
    return CallbackTask.objects.get(call__call_id=call_id)


def queue(world) -> list[CallbackTask]:
    return callback_queue_for_user(world.agent)


def test_a_missed_call_writes_its_callback_to_the_outbox_through_the_gate(world, time_machine):
    # when a known merchant's call is missed on a working morning
    time_machine.move_to(MONDAY_1000, tick=False)
    task = missed_call(MONDAY_1000)

    # then a phone message for the callback is in the outbox, with the gate's decision beside it
    message = OutboxMessage.objects.get(pk=task.outbox_message_id)
    assert (message.channel, message.purpose, message.recipient, message.merchant_id) == (
        "phone", "service_reply", "13812345678", world.merchant.pk)
    assert (message.status, message.next_attempt_at, message.gate_recheck) == ("pending", None, False)
    decision = ContactDecision.objects.get(outbox_message_id=message.pk)
    assert (decision.channel, decision.outcome, decision.reason) == ("phone", "allow", "reply_to_merchant")
    # and the callback is in the queue at once; putting it there is no contact yet
    assert task.status == S.OPEN and queue(world) == [task]
    assert decision.contacted is False
    assert contact_overview_for_call(merchant_id=world.merchant.pk).summary.this_week == 0


def test_the_outbox_delivers_the_allowed_callback_without_changing_it(world, time_machine):
    time_machine.move_to(MONDAY_1000, tick=False)
    task = missed_call(MONDAY_1000)

    # when the outbox drain sends the phone message (twice: a retried drain)
    assert outbox_deliver_one(message_id=task.outbox_message_id) == "sent"
    assert outbox_deliver_one(message_id=task.outbox_message_id) == "skipped"

    # then the callback is still in the queue, once
    task.refresh_from_db()
    assert task.status == S.OPEN and queue(world) == [task]


def test_do_not_disturb_does_not_hold_the_answer_to_the_merchants_own_call_at_night(world, time_machine):
    # given a merchant who asked not to be disturbed, calling in quiet hours
    night = MONDAY_2030 + timedelta(hours=2)  # 22:30
    time_machine.move_to(night, tick=False)
    contact_do_not_disturb_set(merchant=world.merchant, on=True, actor=None)

    # when their call is missed
    task = missed_call(night)

    # then the callback is a reply to them: allowed now (the desk decides when to dial)
    assert task.status == S.OPEN and queue(world) == [task]
    assert ContactDecision.objects.get().reason == "reply_to_merchant"


def test_a_second_try_at_night_is_held_until_the_quiet_hours_end_then_released(world, time_machine):
    # given a call missed at 20:30, and a first callback nobody answered at 21:45 (past the reply window)
    time_machine.move_to(MONDAY_2030, tick=False)
    task = missed_call(MONDAY_2030)
    first_message = task.outbox_message_id
    time_machine.move_to(MONDAY_2030 + timedelta(minutes=75), tick=False)

    # when the agent logs the unanswered try
    task = callback_complete(task=task, agent=world.agent, outcome="no_answer")

    # then the next try is held by the gate until 08:00: out of the queue, its message waiting
    assert (task.status, task.attempts) == (S.HELD, 1)
    assert queue(world) == []
    held = OutboxMessage.objects.get(pk=task.outbox_message_id)
    assert held.pk != first_message
    assert (held.status, held.next_attempt_at, held.gate_recheck) == ("pending", TUESDAY_0800, True)
    assert ContactDecision.objects.get(outbox_message_id=held.pk).reason == "quiet_hours"
    with pytest.raises(Conflict) as refused:
        callback_take(task=task, agent=world.agent)
    assert refused.value.code == "callback_held"
    with pytest.raises(Conflict):
        callback_complete(task=task, agent=world.agent, outcome="reached")

    # when the quiet hours end and the outbox sweep picks the message up
    time_machine.move_to(TUESDAY_0800 + timedelta(seconds=1), tick=False)
    assert held.pk in outbox_due_ids()
    assert outbox_deliver_one(message_id=held.pk) == "sent"

    # then the gate was asked again and the callback is back in the queue
    task.refresh_from_db()
    assert task.status == S.OPEN and queue(world) == [task]
    assert list(ContactDecision.objects.filter(outbox_message_id=held.pk).order_by("pk")
                .values_list("outcome", "contacted")) == [("defer", False), ("allow", False)]


def test_a_stale_phone_message_does_not_release_a_callback_waiting_on_a_newer_one(world, time_machine):
    time_machine.move_to(MONDAY_2030, tick=False)
    task = missed_call(MONDAY_2030)
    first_message = task.outbox_message_id
    time_machine.move_to(MONDAY_2030 + timedelta(minutes=75), tick=False)
    callback_complete(task=task, agent=world.agent, outcome="busy")

    # when the first (allowed) message is delivered late
    outbox_deliver_one(message_id=first_message)

    # then the callback stays held for its own message
    task.refresh_from_db()
    assert task.status == S.HELD


def test_a_next_try_the_merchant_refused_is_cancelled(world, time_machine):
    # given a missed call on a working morning, after which the merchant refused calls from us
    time_machine.move_to(MONDAY_1000, tick=False)
    task = missed_call(MONDAY_1000)
    contact_opt_out(merchant=world.merchant, channel="phone", purpose="service_reply",
                    source=ContactSource.PORTAL, actor=None)

    # when the first try, two hours later, did not reach them
    time_machine.move_to(MONDAY_1000 + timedelta(hours=2), tick=False)
    task = callback_complete(task=task, agent=world.agent, outcome="no_answer")

    # then no further call is asked of the desk
    assert task.status == S.CANCELLED and task.done_at == timezone.now()
    assert task.outbox_message_id is None and queue(world) == []


def test_a_requested_callback_goes_through_the_gate_and_the_outbox(world, time_machine):
    time_machine.move_to(MONDAY_1000, tick=False)

    task = callback_request(merchant=world.merchant, mobile="13812345678", actor=world.merchant_user)

    message = OutboxMessage.objects.get(pk=task.outbox_message_id)
    assert (message.channel, message.recipient) == ("phone", "13812345678")
    assert ContactDecision.objects.get().reason == "reply_to_merchant"
    assert task.status == S.OPEN and queue(world) == [task]
    # asked again while it waits: the same callback
    assert callback_request(merchant=world.merchant, mobile="13812345678", actor=world.merchant_user) == task


def test_an_unknown_callers_callback_goes_through_the_outbox_ungated(world, time_machine):
    time_machine.move_to(MONDAY_1000, tick=False)

    task = missed_call(MONDAY_1000, caller="13700000000")

    message = OutboxMessage.objects.get(pk=task.outbox_message_id)
    assert (message.channel, message.merchant_id, message.recipient) == ("phone", None, "13700000000")
    assert not ContactDecision.objects.exists()
    assert task.status == S.OPEN and queue(world) == [task]


def test_a_held_callback_whose_call_was_answered_after_all_is_cancelled(world, time_machine):
    time_machine.move_to(MONDAY_2030, tick=False)
    task = missed_call(MONDAY_2030)
    time_machine.move_to(MONDAY_2030 + timedelta(minutes=75), tick=False)
    callback_complete(task=task, agent=world.agent, outcome="no_answer")

    # when the call centre's late `answered` event says the call was taken after all
    call_event_record(call_id="CC-1", event="answered", caller="13812345678", at=MONDAY_2030 + timedelta(seconds=5))

    task.refresh_from_db()
    assert task.status == S.CANCELLED


def test_a_held_callback_the_gate_refuses_at_its_recheck_is_cancelled_and_a_new_request_is_taken(world, time_machine):
    # given a next try held until 08:00
    time_machine.move_to(MONDAY_2030, tick=False)
    task = missed_call(MONDAY_2030)
    time_machine.move_to(MONDAY_2030 + timedelta(minutes=75), tick=False)
    task = callback_complete(task=task, agent=world.agent, outcome="no_answer")
    assert task.status == S.HELD

    # when its outbox message ends without being sent (withheld by the gate at its re-check, or dead)
    OutboxMessage.objects.filter(pk=task.outbox_message_id).update(status=OutboxMessage.Status.WITHHELD)

    # then the sweep cancels the callback instead of leaving it held for ever
    assert callbacks_cancel_refused() == 1
    task.refresh_from_db()
    assert task.status == S.CANCELLED and task.done_at is not None and queue(world) == []
    # and a later request of the merchant is a new callback, not the dead one
    assert callback_request(merchant=world.merchant, mobile="13812345678", actor=world.merchant_user).pk != task.pk
