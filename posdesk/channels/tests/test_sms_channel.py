"""The SMS channel end to end: the outbox sends through the local file or Aliyun (a loopback fake
of dysmsapi), delivery receipts and merchants' replies arrive through the signed webhooks, "TD"
stops marketing SMS at once, and every other reply lands exactly once in a ticket."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from posdesk.channels.models import InboundMessage
from posdesk.channels.sms.callbacks import ACKNOWLEDGEMENT, MAX_CALLBACK_BYTES, callback_signature
from posdesk.channels.sms.outbound import aliyun_http_client, deliver_sms
from posdesk.channels.tests.test_sms_aliyun import (  # the loopback fake of dysmsapi
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    FROZEN_NOW,
    fake_dysmsapi,  # noqa: F401 - a fixture
)
from posdesk.contact.decision import Outcome, Reason
from posdesk.contact.models import ContactOptOut
from posdesk.contact.services import contact_decide, marketing_consent_record
from posdesk.core.tests.concurrency import racing_database, run_together
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_deliver_one
from posdesk.tickets.models import Ticket
from tests import factories as f

pytestmark = pytest.mark.django_db

SECRET = "secret-shared-with-the-signing-proxy"
MONDAY_MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
BIZ_ID = "900619746936498^0"
S = OutboxMessage.Status


@pytest.fixture(autouse=True)
def _sms_settings(settings, tmp_path: Path) -> None:
    settings.SMS_BACKEND = "local"
    settings.SMS_LOCAL_FILE = str(tmp_path / "sms-sent.jsonl")
    settings.SMS_CALLBACK_SECRET = SECRET


@pytest.fixture
def monday_morning(time_machine: Any) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)


@pytest.fixture
def aliyun(
    settings: Any, monkeypatch: pytest.MonkeyPatch, time_machine: Any
) -> Iterator[Callable[..., None]]:
    """SMS_BACKEND=aliyun against the loopback fake, at the moment the fake expects."""

    def configure(endpoint: str, *, secret: str = ACCESS_KEY_SECRET) -> None:
        settings.SMS_BACKEND = "aliyun"
        settings.ALIYUN_SMS_ACCESS_KEY_ID = ACCESS_KEY_ID
        settings.ALIYUN_SMS_ACCESS_KEY_SECRET = secret
        settings.ALIYUN_SMS_SIGN_NAME = "杭州收单服务"
        settings.ALIYUN_SMS_TEMPLATE_CODE = "SMS_460000001"
        settings.ALIYUN_SMS_ENDPOINT = endpoint

    # loopback traffic must not go to a proxy from the environment
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    aliyun_http_client.cache_clear()
    time_machine.move_to(FROZEN_NOW, tick=False)
    yield configure
    aliyun_http_client().close()
    aliyun_http_client.cache_clear()


def sms_in_outbox(recipient: str = "13812345678", body: str = "【posdesk】您的工单已受理。",
                  **fields: Any) -> OutboxMessage:
    return OutboxMessage.objects.create(channel=OutboxMessage.Channel.SMS, purpose="service_reply",
                                        recipient=recipient, body=body, **fields)


def lines_sent(settings: Any) -> list[dict]:
    path = Path(settings.SMS_LOCAL_FILE)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def signed(body: bytes, *, at: datetime | None = None, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int((at or timezone.now()).timestamp()))
    signature = callback_signature(secret, timestamp, body)
    return {"X-Posdesk-Timestamp": timestamp, "X-Posdesk-Signature": signature}


def push(client: Client, name: str, body: bytes, headers: dict[str, str] | None = None) -> HttpResponse:
    return client.post(reverse(name), data=body, content_type="application/json", headers=headers or {})


def body_of(items: list[dict]) -> bytes:
    return json.dumps(items, ensure_ascii=False).encode("utf-8")


def receipt(**fields: Any) -> dict:
    return {
        "phone_number": "13812345678",
        "send_time": "2026-11-23 10:00:00",
        "report_time": "2026-11-23 10:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": BIZ_ID,
        "out_id": "",
        **fields,
    }


def reply(content: str = "刷卡机坏了，屏幕显示A0", *, sequence_id: int = 1234567890,
          mobile: str = "13812345678") -> dict:
    return {
        "phone_number": mobile,
        "send_time": "2026-11-23 09:59:00",
        "content": content,
        "sign_name": "杭州收单服务",
        "dest_code": "1234",
        "sequence_id": sequence_id,
    }


def push_replies(client: Client, items: list[dict], django_capture_on_commit_callbacks: Any) -> HttpResponse:
    """Push replies and run what the push hands to the worker after its commit (eager Celery)."""
    body = body_of(items)
    with django_capture_on_commit_callbacks(execute=True):
        return push(client, "sms-aliyun-up", body, signed(body))


# --- sending ------------------------------------------------------------------------------------


def test_a_local_sms_is_written_to_the_file_and_logged_with_the_mobile_masked(settings, caplog):
    # given
    message = sms_in_outbox()
    caplog.set_level(logging.INFO)

    # when
    outcome = outbox_deliver_one(message_id=message.pk)

    # then the file holds the whole message, under our reference and the id the outbox stored
    message.refresh_from_db()
    assert outcome == S.SENT
    [line] = lines_sent(settings)
    assert (line["mobile"], line["text"], line["reference"]) == (
        "13812345678", "【posdesk】您的工单已受理。", f"outbox-{message.pk}")
    assert message.provider_message_id == line["id"]
    # and the log shows the mobile masked, never whole
    assert "138****5678" in caplog.text
    assert all("13812345678" not in repr(vars(record)) for record in caplog.records)


def test_an_sms_goes_to_aliyun_with_its_idempotency_key_and_aliyuns_id_is_kept(aliyun, fake_dysmsapi):  # noqa: F811
    # given
    fake, endpoint = fake_dysmsapi
    aliyun(endpoint)
    message = sms_in_outbox()

    # when
    outcome = outbox_deliver_one(message_id=message.pk)

    # then
    message.refresh_from_db()
    assert outcome == S.SENT
    [seen] = fake.accepted
    assert (seen["PhoneNumbers"], seen["OutId"]) == ("13812345678", message.idempotency_key)
    assert json.loads(seen["TemplateParam"]) == {"content": "【posdesk】您的工单已受理。"}
    assert (message.provider, message.provider_message_id) == ("aliyun", "900619746936498^0")


def test_an_unreachable_gateway_leaves_the_sms_pending_for_a_retry(aliyun):
    # given a loopback port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    aliyun(f"http://127.0.0.1:{port}")
    message = sms_in_outbox()

    # when
    outcome = outbox_deliver_one(message_id=message.pk)

    # then the outbox will try again after its back-off
    message.refresh_from_db()
    assert outcome == S.PENDING
    assert message.attempts == 1
    assert message.next_attempt_at is not None and message.next_attempt_at > timezone.now()
    assert message.last_error.startswith("SmsError: retryable [aliyun network_error]")
    assert message.provider_message_id == ""


def test_a_refusal_that_cannot_succeed_later_says_so_in_the_outbox(aliyun, fake_dysmsapi):  # noqa: F811
    # given credentials Aliyun does not accept
    fake, endpoint = fake_dysmsapi
    aliyun(endpoint, secret="not-the-secret")
    message = sms_in_outbox()

    # when
    outbox_deliver_one(message_id=message.pk)

    # then
    message.refresh_from_db()
    assert message.last_error.startswith(
        "SmsError: not retryable, needs a person [aliyun SignatureDoesNotMatch]")
    assert fake.accepted == []


def test_a_number_that_is_not_a_mainland_mobile_is_not_retryable(settings):
    message = sms_in_outbox(recipient="12345")
    outbox_deliver_one(message_id=message.pk)
    message.refresh_from_db()
    assert "not retryable" in message.last_error and "invalid_mobile" in message.last_error
    assert lines_sent(settings) == []


def test_an_sms_the_provider_already_accepted_is_not_sent_again(settings):
    # given a message whose worker died after the provider accepted it (the sweep hands it out again)
    message = sms_in_outbox(provider_message_id="local-already-accepted")

    # when
    deliver_sms(message)

    # then nothing more reaches the provider
    assert lines_sent(settings) == []


# --- delivery receipts --------------------------------------------------------------------------


def test_a_delivery_receipt_marks_the_sms_delivered_and_a_second_push_changes_nothing(db):
    # given an SMS Aliyun accepted
    message = sms_in_outbox(provider_message_id=BIZ_ID, status=S.SENT)
    body = body_of([receipt()])

    # when the receipt is pushed, then pushed again
    first = push(Client(), "sms-aliyun-report", body, signed(body))
    message.refresh_from_db()
    delivered_at = message.delivered_at
    second = push(Client(), "sms-aliyun-report", body, signed(body))
    message.refresh_from_db()

    # then (10:00:05 in Beijing is 02:00:05 UTC)
    assert (first.status_code, first.json()) == (200, ACKNOWLEDGEMENT)
    assert (second.status_code, second.json()) == (200, ACKNOWLEDGEMENT)
    assert delivered_at == datetime(2026, 11, 23, 2, 0, 5, tzinfo=UTC)
    assert (message.delivered_at, message.delivery_error) == (delivered_at, "")


def test_a_receipt_finds_an_sms_whose_send_answer_was_lost_by_our_reference(settings):
    # given a message the gateway accepted though its answer never reached us
    message = sms_in_outbox()
    body = body_of([receipt(out_id=f"outbox-{message.pk}")])

    # when
    push(Client(), "sms-aliyun-report", body, signed(body))

    # then the receipt tells us Aliyun's id, so a retry does not send the text a second time
    message.refresh_from_db()
    assert message.provider_message_id == BIZ_ID
    assert message.delivered_at is not None
    deliver_sms(message)
    assert lines_sent(settings) == []


def test_a_receipt_finds_an_sms_whose_send_answer_was_lost_by_its_idempotency_key(settings):
    # given a message Aliyun accepted under its key (the OutId) though the answer never reached us
    message = sms_in_outbox()
    body = body_of([receipt(out_id=message.idempotency_key)])

    # when
    push(Client(), "sms-aliyun-report", body, signed(body))

    # then
    message.refresh_from_db()
    assert (message.provider_message_id, message.delivered_at is not None) == (BIZ_ID, True)


def test_a_failed_delivery_is_recorded_with_the_gateways_reason():
    message = sms_in_outbox(provider_message_id=BIZ_ID, status=S.SENT)
    body = body_of([receipt(success=False, err_code="MK:0000", err_msg="空号")])

    push(Client(), "sms-aliyun-report", body, signed(body))

    message.refresh_from_db()
    assert (message.delivered_at, message.delivery_error) == (None, "MK:0000 空号")


def test_a_receipt_for_an_unknown_message_is_acknowledged_and_ignored():
    # given an SMS of ours and a receipt for somebody else's
    message = sms_in_outbox(provider_message_id=BIZ_ID, status=S.SENT)
    body = body_of([receipt(biz_id="111111111^0", out_id="outbox-999999")])

    # when
    answer = push(Client(), "sms-aliyun-report", body, signed(body))

    # then
    message.refresh_from_db()
    assert answer.status_code == 200
    assert (message.delivered_at, message.delivery_error) == (None, "")


# --- merchants' replies -------------------------------------------------------------------------


def test_a_td_reply_stops_marketing_sms_at_once_but_not_service_replies(
    world, monday_morning, django_capture_on_commit_callbacks
):
    # given a merchant who consented to marketing SMS
    marketing_consent_record(merchant=world.merchant, channel="sms", how="portal", actor=None)
    before = contact_decide(merchant_id=world.merchant.pk, channel="sms", purpose="marketing")

    # when they answer "TD"
    answer = push_replies(Client(), [reply("TD")], django_capture_on_commit_callbacks)

    # then marketing by SMS is refused from now on; service replies still go
    marketing = contact_decide(merchant_id=world.merchant.pk, channel="sms", purpose="marketing")
    service = contact_decide(merchant_id=world.merchant.pk, channel="sms", purpose="service_reply")
    assert answer.status_code == 200
    assert before.outcome == Outcome.ALLOW
    assert (marketing.outcome, marketing.reason) == (Outcome.DENY, Reason.OPTED_OUT)
    assert service.outcome == Outcome.ALLOW
    opt_out = ContactOptOut.objects.get(merchant=world.merchant)
    assert (opt_out.channel, opt_out.purpose, opt_out.source) == ("sms", "marketing", "sms_reply")
    # and the reply is kept, marked, and opens no ticket
    stored = InboundMessage.objects.get()
    assert (stored.status, stored.note, stored.ticket) == (InboundMessage.Status.IGNORED, "TD", None)
    assert Ticket.objects.count() == 0


def test_a_td_reply_opts_out_every_merchant_with_a_contact_on_that_mobile(
    world, monday_morning, django_capture_on_commit_callbacks
):
    # given the same person is the contact of two shops
    f.MerchantContactFactory(merchant=world.other_merchant, mobile="13812345678", name="张老板")

    # when
    push_replies(Client(), [reply("退订")], django_capture_on_commit_callbacks)

    # then
    assert set(ContactOptOut.objects.values_list("merchant_id", "purpose")) == {
        (world.merchant.pk, "marketing"), (world.other_merchant.pk, "marketing")}
    assert not ContactOptOut.objects.filter(merchant=world.merchant, purpose="").exists()


def test_a_reply_from_a_known_mobile_opens_a_ticket_for_their_merchant(
    world, monday_morning, django_capture_on_commit_callbacks
):
    # when
    answer = push_replies(Client(), [reply("N7NL00000001 刷卡没反应")], django_capture_on_commit_callbacks)

    # then
    assert (answer.status_code, answer.json()) == (200, ACKNOWLEDGEMENT)
    ticket = Ticket.objects.get()
    assert (ticket.merchant, ticket.channel, ticket.terminal) == (world.merchant, "sms", world.terminal)
    assert "刷卡没反应" in ticket.description
    stored = InboundMessage.objects.get()
    assert (stored.status, stored.ticket, stored.merchant) == (
        InboundMessage.Status.PROCESSED, ticket, world.merchant)
    assert (stored.channel, stored.provider_id, stored.sender) == ("sms", "1234567890", "13812345678")
    assert json.loads(bytes(stored.payload)) == reply("N7NL00000001 刷卡没反应")


def test_a_second_reply_in_the_conversation_joins_the_open_ticket(
    world, monday_morning, django_capture_on_commit_callbacks
):
    # given a ticket opened by a first SMS
    push_replies(Client(), [reply("刷卡没反应", sequence_id=1)], django_capture_on_commit_callbacks)

    # when the merchant writes again
    push_replies(Client(), [reply("屏幕显示A0", sequence_id=2)], django_capture_on_commit_callbacks)

    # then
    ticket = Ticket.objects.get()
    assert list(InboundMessage.objects.order_by("pk").values_list("ticket_id", flat=True)) == [ticket.pk] * 2
    assert ticket.events.filter(body="屏幕显示A0").exists()


def test_a_reply_from_an_unknown_mobile_opens_a_ticket_to_identify(
    world, monday_morning, django_capture_on_commit_callbacks
):
    push_replies(Client(), [reply("机器坏了", mobile="13700000000")], django_capture_on_commit_callbacks)

    ticket = Ticket.objects.get()
    assert (ticket.merchant, ticket.channel) == (None, "sms")
    assert InboundMessage.objects.get().ticket == ticket


def test_a_reply_pushed_twice_is_stored_once_and_opens_one_ticket(
    world, monday_morning, django_capture_on_commit_callbacks
):
    # when Aliyun pushes the same batch again (our first answer was lost)
    answers = [push_replies(Client(), [reply()], django_capture_on_commit_callbacks) for _ in range(2)]

    # then
    assert [a.status_code for a in answers] == [200, 200]
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().events.filter(kind="reply").count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_same_reply_pushed_twice_at_the_same_moment_opens_one_ticket(world, monday_morning, tmp_path):
    # given one batch, pushed by two of Aliyun's retries at once
    body = body_of([reply()])
    headers = signed(body)

    with racing_database(tmp_path):
        # when
        answers = run_together(*[lambda: push(Client(), "sms-aliyun-up", body, headers)] * 2)

        # then
        assert [a.status_code for a in answers] == [200, 200], answers
        assert InboundMessage.objects.count() == 1
        assert Ticket.objects.count() == 1
        assert InboundMessage.objects.get().ticket_id == Ticket.objects.get().pk


# --- refused pushes -----------------------------------------------------------------------------


def _nothing_stored(message: OutboxMessage) -> bool:
    message.refresh_from_db()
    return (InboundMessage.objects.count() == 0 and Ticket.objects.count() == 0
            and message.delivered_at is None and message.provider_message_id == BIZ_ID)


def _forged(body: bytes) -> dict[str, str]:
    return signed(body, secret="a-guess")


def _stale(body: bytes) -> dict[str, str]:
    return signed(body, at=timezone.now() - timedelta(minutes=10))


def _unsigned(_body: bytes) -> dict[str, str]:
    return {}


def _no_timestamp(body: bytes) -> dict[str, str]:
    return {"X-Posdesk-Signature": signed(body)["X-Posdesk-Signature"]}


@pytest.mark.parametrize("name", ["sms-aliyun-up", "sms-aliyun-report"])
@pytest.mark.parametrize("headers_for", [_forged, _stale, _unsigned, _no_timestamp])
def test_a_push_without_a_valid_signature_is_refused_and_nothing_is_stored(world, name, headers_for):
    # given
    message = sms_in_outbox(provider_message_id=BIZ_ID, status=S.SENT)
    body = body_of([reply("TD")] if name == "sms-aliyun-up" else [receipt()])

    # when
    answer = push(Client(), name, body, headers_for(body))

    # then
    assert answer.status_code == 403
    assert _nothing_stored(message)
    assert not ContactOptOut.objects.exists()


@pytest.mark.parametrize("name", ["sms-aliyun-up", "sms-aliyun-report"])
@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[{not json", "malformed_json"),
        (b'{"content": "TD"}', "not_a_list"),
        (body_of([reply(sequence_id=1), {"phone_number": "13812345678"}]), "malformed_item"),
        (body_of([receipt(), {"biz_id": "1^0"}]), "malformed_item"),
    ],
)
def test_a_signed_but_malformed_push_is_refused_and_nothing_is_stored(world, name, body, code):
    # given
    message = sms_in_outbox(provider_message_id=BIZ_ID, status=S.SENT)

    # when
    answer = push(Client(), name, body, signed(body))

    # then
    assert (answer.status_code, answer.json()["code"]) == (400, code)
    assert _nothing_stored(message)


def test_an_oversized_push_is_refused_before_it_is_read(world):
    body = b"[" + b" " * MAX_CALLBACK_BYTES + b"]"
    answer = push(Client(), "sms-aliyun-up", body, signed(body))
    assert answer.status_code == 413
    assert InboundMessage.objects.count() == 0


def test_the_webhooks_are_off_while_no_secret_is_configured(settings):
    # given
    settings.SMS_CALLBACK_SECRET = ""
    body = body_of([reply()])

    # when
    names = ("sms-aliyun-up", "sms-aliyun-report")
    answers = [push(Client(), name, body, signed(body, secret="")) for name in names]

    # then
    assert [a.status_code for a in answers] == [404, 404]
    assert InboundMessage.objects.count() == 0


def test_the_webhooks_take_only_post():
    assert Client().get(reverse("sms-aliyun-up")).status_code == 405
    assert Client().get(reverse("sms-aliyun-report")).status_code == 405


# --- a machine endpoint: who is signed in makes no difference -----------------------------------


def test_an_anonymous_push_with_a_good_signature_is_accepted_without_a_csrf_token(world):
    message = sms_in_outbox(provider_message_id=BIZ_ID, status=S.SENT)
    body = body_of([receipt()])

    answer = push(Client(enforce_csrf_checks=True), "sms-aliyun-report", body, signed(body))

    message.refresh_from_db()
    assert answer.status_code == 200
    assert message.delivered_at is not None


@pytest.mark.parametrize("role", ["merchant", "agent", "technician", "vendor", "supervisor", "admin"])
def test_a_session_or_token_neither_replaces_nor_spoils_the_signature(world, api, role):
    # given a browser session and an API token of that role
    session = Client(enforce_csrf_checks=True)
    session.force_login(world.users[role])
    token = api(world.users[role])
    body = body_of([receipt()])

    # when they push without a signature, then with one
    unsigned = [push(session, "sms-aliyun-report", body), push(token, "sms-aliyun-report", body)]
    with_signature = [push(session, "sms-aliyun-report", body, signed(body)),
                      push(token, "sms-aliyun-report", body, signed(body))]

    # then only the signature counts
    assert [a.status_code for a in unsigned] == [403, 403]
    assert [a.status_code for a in with_signature] == [200, 200]
