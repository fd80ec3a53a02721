"""The phone channel: the call centre's webhook (signatures, malformed input, replays), call events
in any order, callbacks of missed calls on the business clock, the desk's callback and call logging
through the contact gate, and the calls API for every role."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from posdesk.channels.models import CallbackTask, CallRecord, InboundMessage
from posdesk.channels.phone.services import (
    call_event_record,
    call_log_outbound,
    callback_complete,
    callback_due_at,
    callback_take,
)
from posdesk.channels.selectors import callback_queue_for_user, contact_overview_for_call
from posdesk.channels.sms.callbacks import callback_signature
from posdesk.contact.models import ContactDecision, ContactProfile
from posdesk.core.errors import Conflict, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db

SECRET = "call-centre-shared-secret"
URL = "/channels/phone/events"
# Friday 2026-11-20 17:50 in Shanghai: ten business minutes are left that day
FRIDAY_1750 = datetime(2026, 11, 20, 9, 50, tzinfo=UTC)
MONDAY_0905 = datetime(2026, 11, 23, 1, 5, tzinfo=UTC)
MONDAY_1000 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.PHONE_WEBHOOK_SECRET = SECRET
    settings.CALLBACK_TARGET_MINUTES = 15


@pytest.fixture
def friday(time_machine):
    time_machine.move_to(FRIDAY_1750, tick=False)


@pytest.fixture
def monday(time_machine):
    time_machine.move_to(MONDAY_1000, tick=False)


def event(call_id: str = "CC-1001", kind: str = "ringing", *, caller: str = "13812345678",
          at: datetime | None = None, **extra: Any) -> dict:
    moment = at or timezone.now()
    return {"call_id": call_id, "event": kind, "caller": caller, "callee": "4008200000",
            "at": moment.isoformat(), **extra}


def post(body: dict | bytes, *, secret: str = SECRET, timestamp: int | None = None,
         signature: str | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(timestamp if timestamp is not None else int(timezone.now().timestamp()))
    headers = {"X-Posdesk-Timestamp": stamp,
               "X-Posdesk-Signature": signature if signature is not None else callback_signature(secret, stamp, raw)}
    return Client().post(URL, raw, content_type="application/json", headers=headers)


def record(call_id: str = "CC-1001") -> CallRecord:
    return CallRecord.objects.get(call_id=call_id)


# --- the webhook ---------------------------------------------------------------------------


def test_the_webhook_has_its_name():
    assert reverse("phone-events") == URL


def test_a_signed_event_is_stored_and_recorded_for_the_callers_merchant(world, friday, open_ticket):
    # given a merchant with an open ticket
    ticket = open_ticket()

    # when the call centre reports a ringing call from the merchant's contact
    response = post(event())

    # then it is stored, and the call is on the merchant and their open ticket
    assert response.status_code == 200
    assert response.json() == {"code": "ok", "call_id": "CC-1001", "state": "ringing", "duplicate": False}
    stored = InboundMessage.objects.get(channel="phone")
    assert stored.provider_id == "CC-1001:ringing" and json.loads(bytes(stored.payload))["call_id"] == "CC-1001"
    call = record()
    assert (call.direction, call.merchant, call.ticket) == ("inbound", world.merchant, ticket)
    assert call.started_at == FRIDAY_1750


def test_a_forged_signature_is_refused_and_changes_nothing(world, friday):
    response = post(event(), signature="0" * 64)

    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert not InboundMessage.objects.exists() and not CallRecord.objects.exists()


def test_a_body_signed_with_another_secret_is_refused(world, friday):
    assert post(event(), secret="not-the-shared-secret").status_code == 403
    assert not CallRecord.objects.exists()


def test_a_stale_timestamp_is_refused_as_a_replay(world, friday):
    ten_minutes_ago = int(FRIDAY_1750.timestamp()) - 600

    response = post(event(), timestamp=ten_minutes_ago)

    assert response.status_code == 403
    assert response.json()["code"] == "stale_timestamp"
    assert not InboundMessage.objects.exists()


def test_a_missing_signature_is_refused(world, friday):
    raw = json.dumps(event()).encode()
    response = Client().post(URL, raw, content_type="application/json")

    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("body", [
    b"{not json",
    json.dumps({"event": "ringing", "caller": "13812345678", "at": "2026-11-20T17:50:00+08:00"}).encode(),
    json.dumps({"call_id": "X", "event": "hung_up", "caller": "13812345678",
                "at": "2026-11-20T17:50:00+08:00"}).encode(),
    json.dumps({"call_id": "X", "event": "ringing", "caller": "13812345678", "at": "2026-11-20T17:50:00"}).encode(),
    json.dumps({"call_id": "X", "event": "ringing", "caller": "13812345678", "at": "yesterday"}).encode(),
    json.dumps({"call_id": "X", "event": "ringing", "caller": "not a number",
                "at": "2026-11-20T17:50:00+08:00"}).encode(),
    json.dumps({"call_id": "X", "event": "ended", "caller": "13812345678", "at": "2026-11-20T17:50:00+08:00",
                "recording_url": "javascript:alert(1)"}).encode(),
    json.dumps([{"call_id": "X"}]).encode(),
], ids=["bad-json", "no-call-id", "unknown-event", "naive-time", "not-a-time", "bad-caller", "bad-recording-url",
        "a-list"])
def test_a_malformed_event_is_refused_with_400_and_nothing_is_stored(world, friday, body):
    response = post(body)

    assert response.status_code == 400
    assert not InboundMessage.objects.exists() and not CallRecord.objects.exists()


def test_an_oversized_body_is_refused(world, friday):
    response = post(b'{"pad": "' + b"x" * (1024 * 1024) + b'"}')

    assert response.status_code == 413
    assert not InboundMessage.objects.exists()


def test_the_webhook_does_not_exist_while_no_secret_is_configured(world, friday, settings):
    settings.PHONE_WEBHOOK_SECRET = ""

    assert post(event()).status_code == 404


def test_the_webhook_takes_only_post(world):
    assert Client().get(URL).status_code == 405


def test_refusals_and_records_never_log_the_callers_number(world, friday, caplog):
    caplog.set_level("INFO", logger="posdesk.channels")

    post(event(), signature="f" * 64)
    post(event(kind="missed"))

    assert caplog.records
    assert all("13812345678" not in f"{r.getMessage()} {r.__dict__}" for r in caplog.records)


# --- events in any order, exactly once ----------------------------------------------------------


def test_ringing_answered_ended_make_one_answered_call_without_a_callback(world, friday, time_machine):
    # when the three events of an answered call arrive in order
    post(event(kind="ringing"))
    time_machine.move_to(datetime(2026, 11, 20, 9, 50, 20, tzinfo=UTC), tick=False)
    post(event(kind="answered", agent="agent"))
    time_machine.move_to(datetime(2026, 11, 20, 9, 55, tzinfo=UTC), tick=False)
    response = post(event(kind="ended", recording_url="https://cc.example.cn/rec/CC-1001.mp3"))

    # then one call, ended, answered by the agent, with its recording, and nothing to call back
    assert response.json()["state"] == "ended"
    call = record()
    assert (call.state, call.agent, call.duration_seconds) == ("ended", world.agent, 280)
    assert call.recording_url == "https://cc.example.cn/rec/CC-1001.mp3"
    assert CallRecord.objects.count() == 1 and not CallbackTask.objects.exists()
    assert InboundMessage.objects.filter(channel="phone").count() == 3


def test_an_ended_that_overtakes_its_answered_keeps_the_call_ended(world, friday):
    answered_at = datetime(2026, 11, 20, 9, 50, 10, tzinfo=UTC)
    ended_at = datetime(2026, 11, 20, 9, 52, tzinfo=UTC)

    post(event(kind="ended", at=ended_at))
    post(event(kind="ringing", at=FRIDAY_1750))
    post(event(kind="answered", at=answered_at))

    call = record()
    assert (call.state, call.started_at, call.answered_at, call.ended_at) == (
        "ended", FRIDAY_1750, answered_at, ended_at)
    assert not CallbackTask.objects.exists()


def test_a_missed_call_becomes_one_callback_due_in_business_minutes_on_monday_morning(world, friday):
    # given Friday 17:50, ten minutes before the end of the working day
    # when a call rings and is missed
    post(event(kind="ringing"))
    post(event(kind="missed"))

    # then one callback, due 15 business minutes later: 10 on Friday, 5 on Monday from 09:00
    task = CallbackTask.objects.get()
    assert (task.status, task.merchant, task.mobile, task.call) == ("open", world.merchant, "13812345678", record())
    assert task.due_at == MONDAY_0905
    assert record().state == "missed"
    # and the merchant tried to reach us: a reply to them is a reply
    profile = ContactProfile.objects.get(merchant=world.merchant)
    assert (profile.last_inbound_at, profile.last_inbound_channel) == (FRIDAY_1750, "phone")


def test_a_callback_due_over_national_day_waits_for_the_first_working_day(world):
    # 2025-09-30 (Tuesday) 17:50 Shanghai; 1–8 October are statutory holidays
    missed_at = datetime(2025, 9, 30, 9, 50, tzinfo=UTC)

    assert callback_due_at(missed_at) == datetime(2025, 10, 9, 1, 5, tzinfo=UTC)


def test_an_abandoned_call_also_becomes_a_callback(world, monday):
    post(event(kind="abandoned"))

    task = CallbackTask.objects.get()
    assert record().state == "abandoned"
    assert task.due_at == datetime(2026, 11, 23, 2, 15, tzinfo=UTC)  # Monday 10:15 Shanghai


def test_the_same_event_delivered_twice_is_recorded_once(world, friday):
    first = post(event(kind="missed"))
    second = post(event(kind="missed"))

    assert first.status_code == second.status_code == 200
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert InboundMessage.objects.filter(channel="phone").count() == 1
    assert CallRecord.objects.count() == 1 and CallbackTask.objects.count() == 1


def test_missed_then_abandoned_then_ended_leave_one_missed_call_and_one_callback(world, friday):
    post(event(kind="missed"))
    post(event(kind="abandoned"))
    post(event(kind="ended"))

    assert record().state == "missed"
    assert CallbackTask.objects.count() == 1


def test_a_call_answered_after_its_missed_event_needs_no_callback(world, friday):
    post(event(kind="missed"))
    post(event(kind="answered", agent="agent"))

    assert record().state == "answered"
    assert CallbackTask.objects.get().status == "cancelled"
    assert callback_queue_for_user(world.agent) == []


def test_a_missed_call_from_an_unknown_number_is_still_called_back(world, friday):
    post(event(kind="missed", caller="+86 139 0000 2222"))

    task = CallbackTask.objects.get()
    assert (task.merchant, task.mobile, record().ticket) == (None, "13900002222", None)


def test_an_agent_name_that_is_no_desk_user_is_ignored(world, friday):
    post(event(kind="answered", agent="tech"))

    assert record().agent is None


def test_an_event_whose_recording_failed_is_applied_when_the_call_centre_retries(world, friday, monkeypatch):
    # given a failure while the missed call is applied (after the event was stored)
    def broken(missed_at: datetime) -> datetime:
        raise RuntimeError("calendar unavailable")

    monkeypatch.setattr("posdesk.channels.phone.services.callback_due_at", broken)
    with pytest.raises(RuntimeError):
        call_event_record(call_id="CC-7", event="missed", caller="13812345678", at=FRIDAY_1750)
    stored = InboundMessage.objects.get()
    assert stored.status == "received" and not CallRecord.objects.exists()  # kept, nothing half-done
    monkeypatch.undo()

    # when the call centre delivers it again
    call, new = call_event_record(call_id="CC-7", event="missed", caller="13812345678", at=FRIDAY_1750)

    # then it is applied once
    assert new and call.state == "missed" and CallbackTask.objects.count() == 1
    stored.refresh_from_db()
    assert (stored.status, stored.note) == ("ignored", "call event missed")
    assert InboundMessage.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_calls_events_make_one_record_and_one_callback(world):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite has one writer)")
    # given the call centre delivering each of three events of one call twice, all at the same moment
    at = timezone.now()
    kinds = ["ringing", "missed", "abandoned"] * 2
    start = threading.Barrier(len(kinds))
    answers: list[bool] = []
    failures: list[BaseException] = []

    def deliver(kind: str) -> None:
        try:
            start.wait(timeout=10)
            answers.append(call_event_record(call_id="CC-RACE", event=kind, caller="13812345678", at=at)[1])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(kind,)) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then each event was applied once, to one call with one callback
    assert failures == []
    assert sorted(answers) == [False, False, False, True, True, True]
    assert InboundMessage.objects.filter(channel="phone").count() == 3
    assert CallRecord.objects.count() == 1 and CallbackTask.objects.count() == 1
    assert record("CC-RACE").state in ("missed", "abandoned")


def test_the_service_refuses_an_event_it_does_not_know(world, friday):
    with pytest.raises(ValidationFailed):
        call_event_record(call_id="CC-9", event="transferred", caller="13812345678", at=FRIDAY_1750)
    assert not InboundMessage.objects.exists()


# --- callbacks and logged calls, through the contact gate -----------------------------------------


@pytest.fixture
def missed(world, friday) -> CallbackTask:
    call_event_record(call_id="CC-1001", event="missed", caller="13812345678", at=FRIDAY_1750)
    return CallbackTask.objects.get()


def test_a_completed_callback_logs_the_call_and_a_contact(world, missed, open_ticket):
    # when the agent reaches the merchant
    task = callback_complete(task=missed, agent=world.agent, outcome="reached", note="已远程指导重启")

    # then the callback is done, the outbound call is logged, and it counts as a contact
    assert (task.status, task.outcome, task.attempts, task.assignee) == ("done", "reached", 1, world.agent)
    outbound = CallRecord.objects.get(direction="outbound")
    assert (outbound.agent, outbound.outcome, outbound.mobile, outbound.merchant) == (
        world.agent, "reached", "13812345678", world.merchant)
    assert outbound.note == "已远程指导重启"
    # (the other decision logged is the gate's, when the callback joined the queue: not a contact)
    decision = ContactDecision.objects.get(contacted=True)
    assert (decision.channel, decision.purpose, decision.contacted, decision.actor) == (
        "phone", "service_reply", True, world.agent)
    assert contact_overview_for_call(merchant_id=world.merchant.pk).summary.this_week == 1


def test_an_unanswered_callback_stays_open_until_the_third_try(world, missed):
    callback_complete(task=missed, agent=world.agent, outcome="no_answer")
    task = callback_complete(task=missed, agent=world.agent, outcome="busy")
    assert (task.status, task.attempts) == ("open", 2)

    task = callback_complete(task=missed, agent=world.agent, outcome="no_answer")

    assert (task.status, task.attempts) == ("done", 3)
    assert CallRecord.objects.filter(direction="outbound").count() == 3


def test_a_callback_the_merchant_asked_for_is_logged_without_a_call_to_return(world, monday):
    # given a callback requested in the portal: there is no missed call, hence no ticket
    from posdesk.channels.services import callback_request

    requested = callback_request(merchant=world.merchant, mobile="13812345678", actor=world.merchant_user)
    assert requested.call_id is None

    # when the agent calls, once without an answer and then reaching the merchant
    callback_complete(task=requested, agent=world.agent, outcome="no_answer")
    task = callback_complete(task=requested, agent=world.agent, outcome="reached")

    # then both calls are logged for the merchant, on no ticket, and the callback is closed
    assert (task.status, task.attempts) == ("done", 2)
    calls = CallRecord.objects.filter(direction="outbound").order_by("pk")
    assert [(c.outcome, c.merchant_id, c.ticket_id) for c in calls] == [
        ("no_answer", world.merchant.pk, None), ("reached", world.merchant.pk, None)]


def test_a_closed_callback_cannot_be_completed_again(world, missed):
    callback_complete(task=missed, agent=world.agent, outcome="reached")

    with pytest.raises(Conflict):
        callback_complete(task=missed, agent=world.agent2, outcome="reached")
    assert CallRecord.objects.filter(direction="outbound").count() == 1


def test_a_callback_taken_by_one_agent_cannot_be_taken_by_another(world, missed):
    assert callback_take(task=missed, agent=world.agent).assignee == world.agent

    with pytest.raises(Conflict):
        callback_take(task=missed, agent=world.agent2)


def test_an_unknown_outcome_is_refused_and_nothing_is_logged(world, missed):
    with pytest.raises(ValidationFailed):
        callback_complete(task=missed, agent=world.agent, outcome="great")
    assert not CallRecord.objects.filter(direction="outbound").exists()


@pytest.mark.parametrize("role", ["technician", "vendor", "merchant"])
def test_only_the_desk_works_callbacks_and_logs_calls(world, missed, role):
    user = world.users[role]
    with pytest.raises(PermissionDenied):
        callback_complete(task=missed, agent=user, outcome="reached")
    with pytest.raises(PermissionDenied):
        call_log_outbound(agent=user, merchant=world.merchant, outcome="reached")


def test_logged_follow_up_calls_count_toward_the_two_per_ticket_per_day_cap(world, monday, open_ticket):
    # given an open ticket and a working-day morning
    ticket = open_ticket()
    assert contact_overview_for_call(merchant_id=world.merchant.pk, ticket_id=ticket.pk).decision.outcome == "allow"

    # when the agent logs two follow-up calls about it
    for outcome in ("no_answer", "reached"):
        call_log_outbound(agent=world.agent, merchant=world.merchant, ticket=ticket, outcome=outcome)

    # then the third call about that ticket is deferred by the cap, and another ticket is not
    third = contact_overview_for_call(merchant_id=world.merchant.pk, ticket_id=ticket.pk)
    assert (third.decision.outcome, third.decision.reason) == ("defer", "cap_reached")
    assert third.decision.until == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    assert third.summary.this_week == 3  # the SMS that acknowledged the ticket, and the two calls
    other = open_ticket(text="另一台机器不开机")
    assert contact_overview_for_call(merchant_id=world.merchant.pk, ticket_id=other.pk).decision.outcome == "allow"


def test_a_logged_call_defaults_to_the_primary_contact_and_checks_the_ticket(world, monday, open_ticket):
    call = call_log_outbound(agent=world.agent, merchant=world.merchant, outcome="voicemail", note="留言")
    assert (call.mobile, call.direction, call.state, call.answered_at) == ("13812345678", "outbound", "ended", None)

    others = open_ticket(merchant=world.other_merchant)
    with pytest.raises(ValidationFailed):
        call_log_outbound(agent=world.agent, merchant=world.merchant, ticket=others, outcome="reached")


# --- the calls API --------------------------------------------------------------------------


DESK = ("agent", "supervisor", "admin")
NOT_DESK = ("merchant", "technician", "vendor")


def _client(world, api, role: str | None) -> Client:
    return api(world.users[role] if role else None, language="en")


@pytest.mark.parametrize("role, expected", [
    (None, 401), *[(r, 403) for r in NOT_DESK], *[(r, 200) for r in DESK],
])
def test_the_callback_queue_is_for_the_desk(world, api, missed, role, expected):
    response = _client(world, api, role).get("/api/v1/callbacks")

    assert response.status_code == expected
    if expected == 200:
        [row] = response.json()
        assert row["mobile"] == "138****5678" and row["merchant"]["mid"] == world.merchant.mid
        assert row["due_at"].startswith("2026-11-23T01:05")


@pytest.mark.parametrize("role, expected", [
    (None, 401), *[(r, 403) for r in NOT_DESK], *[(r, 200) for r in DESK],
])
def test_completing_a_callback_is_for_the_desk(world, api, missed, role, expected):
    response = _client(world, api, role).post(f"/api/v1/callbacks/{missed.pk}/complete",
                                              {"outcome": "reached"}, content_type="application/json")

    assert response.status_code == expected
    assert CallbackTask.objects.get().status == ("done" if expected == 200 else "open")


@pytest.mark.parametrize("role, expected", [
    (None, 401), *[(r, 403) for r in NOT_DESK], *[(r, 201) for r in DESK],
])
def test_logging_a_call_is_for_the_desk(world, api, monday, role, expected):
    response = _client(world, api, role).post("/api/v1/calls", {"merchant_id": world.merchant.pk, "outcome": "reached"},
                                              content_type="application/json")

    assert response.status_code == expected
    assert CallRecord.objects.count() == (1 if expected == 201 else 0)


@pytest.mark.parametrize("role, expected", [
    (None, 401), *[(r, 403) for r in NOT_DESK], *[(r, 200) for r in DESK],
])
def test_the_contact_summary_is_for_the_desk(world, api, monday, role, expected):
    response = _client(world, api, role).get(f"/api/v1/merchants/{world.merchant.pk}/contact-summary")

    assert response.status_code == expected


def test_the_contact_summary_tells_the_last_contact_and_the_decision_for_a_call_now(world, api, monday, open_ticket):
    ticket = open_ticket()
    client = _client(world, api, "agent")
    for _ in range(2):
        client.post("/api/v1/calls", {"merchant_id": world.merchant.pk, "ticket_id": ticket.pk, "outcome": "busy"},
                    content_type="application/json")

    body = client.get(f"/api/v1/merchants/{world.merchant.pk}/contact-summary?ticket_id={ticket.pk}").json()

    assert body["last_channel"] == "phone" and body["this_week"] == 3  # the ticket's SMS and two calls
    assert body["last_contacted_at"].startswith("2026-11-23T02:00")
    assert body["decision"]["outcome"] == "defer" and body["decision"]["reason"] == "cap_reached"
    assert body["decision"]["reason_text"] == "Contacted as often as the rules allow in this period."
    assert body["decision"]["until"].startswith("2026-11-24T02:00")


def test_a_logged_call_retried_with_its_idempotency_key_is_logged_once(world, api, monday):
    client = _client(world, api, "agent")
    payload = {"merchant_id": world.merchant.pk, "outcome": "reached", "note": "确认已恢复"}

    first = client.post("/api/v1/calls", payload, content_type="application/json", headers={"Idempotency-Key": "k1"})
    again = client.post("/api/v1/calls", payload, content_type="application/json", headers={"Idempotency-Key": "k1"})

    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert first.json()["mobile"] == "138****5678"
    assert CallRecord.objects.count() == 1 and ContactDecision.objects.count() == 1


def test_the_api_refuses_a_ticket_of_another_merchant_and_an_unknown_outcome(world, api, monday, open_ticket):
    client = _client(world, api, "agent")
    others = open_ticket(merchant=world.other_merchant)

    wrong_ticket = client.post("/api/v1/calls", {"merchant_id": world.merchant.pk, "ticket_id": others.pk,
                                                 "outcome": "reached"}, content_type="application/json")
    wrong_outcome = client.post("/api/v1/calls", {"merchant_id": world.merchant.pk, "outcome": "great"},
                                content_type="application/json")

    assert wrong_ticket.status_code == 422 and wrong_ticket.json()["code"] == "ticket_not_merchants"
    assert wrong_outcome.status_code == 422 and wrong_outcome.json()["detail"] == {"field": "outcome"}
    assert not CallRecord.objects.exists()


def test_an_unknown_callback_is_404(world, api):
    response = _client(world, api, "agent").post("/api/v1/callbacks/999/complete", {"outcome": "reached"},
                                                 content_type="application/json")

    assert response.status_code == 404 and response.json()["code"] == "callback_not_found"


def test_the_callback_queue_endpoint_reads_a_bounded_number_of_rows(world, api, friday,
                                                                     django_assert_max_num_queries):
    for n in range(10):
        call_event_record(call_id=f"CC-{n}", event="missed", caller="13812345678", at=FRIDAY_1750)
    client = _client(world, api, "agent")
    client.get("/api/v1/callbacks")

    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/callbacks")

    assert len(response.json()) == 10
