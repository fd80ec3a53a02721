"""`Idempotency-Key` on the API's creates: a retried create returns the same resource, once.
Retries that race each other on real threads: posdesk/tickets/tests/test_create_races.py."""

from __future__ import annotations

from posdesk.core.models import IdempotencyRecord
from posdesk.tickets.models import Ticket, TicketEvent

JSON = "application/json"


def _create(client, key, text="刷卡没反应，屏幕显示A0", mid=None):
    return client.post(
        "/api/v1/tickets",
        data={"text": text, "mid": mid or "898330160120021"},
        content_type=JSON,
        headers={"Idempotency-Key": key},
    )


def test_a_retry_with_the_same_key_and_body_returns_the_same_ticket(world, api):
    client = api(world.merchant_user)
    first = _create(client, "b8f6d1c0-retry")
    second = _create(client, "b8f6d1c0-retry")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Ticket.objects.count() == 1
    assert TicketEvent.objects.count() == 1


def test_the_same_key_with_another_body_is_409(world, api):
    client = api(world.merchant_user)
    _create(client, "key-1")
    response = _create(client, "key-1", text="打印机不出纸")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert set(response.json()) == {"code", "message", "detail"}
    assert Ticket.objects.count() == 1


def test_different_users_with_the_same_key_are_independent(world, api):
    first = _create(api(world.merchant_user), "shared-key")
    second = _create(api(world.agent), "shared-key")
    assert first.json()["id"] != second.json()["id"]
    assert Ticket.objects.count() == 2


def test_the_same_user_with_a_second_token_gets_the_same_ticket(world, api):
    first = _create(api(world.agent), "one-user-two-tokens")
    second = _create(api(world.agent), "one-user-two-tokens")
    assert first.json()["id"] == second.json()["id"]


def test_without_a_key_each_create_is_new(world, api):
    client = api(world.agent)
    for _ in range(2):
        client.post("/api/v1/tickets", data={"text": "坏了", "mid": world.merchant.mid}, content_type=JSON)
    assert Ticket.objects.count() == 2


def test_a_refused_create_does_not_burn_the_key(world, api):
    client = api(world.agent)
    assert _create(client, "fix-and-retry", mid="12345").status_code == 422
    assert not IdempotencyRecord.objects.exists()
    assert _create(client, "fix-and-retry").status_code == 201


def test_an_overlong_key_is_refused(world, api):
    response = _create(api(world.agent), "k" * 256)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Ticket.objects.exists()


def test_replies_and_merchants_are_idempotent_too(world, api, open_ticket):
    ticket = open_ticket()
    client = api(world.agent)
    for _ in range(2):
        reply = client.post(
            f"/api/v1/tickets/{ticket.pk}/replies",
            data={"body": "马上安排"},
            content_type=JSON,
            headers={"Idempotency-Key": "reply-1"},
        )
        assert reply.status_code == 201
        merchant = client.post(
            "/api/v1/merchants",
            data={"mid": "898330160120077", "name": "文三路水果店"},
            content_type=JSON,
            headers={"Idempotency-Key": "merchant-1"},
        )
        assert merchant.status_code == 201
    assert ticket.events.filter(kind="reply").count() == 1


def test_an_upload_retried_with_its_key_is_stored_once(world, api, open_ticket):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from posdesk.tickets.models import TicketAttachment
    from posdesk.tickets.tests.builders import pdf_bytes

    ticket = open_ticket()
    client = api(world.merchant_user)

    def upload(data: bytes):
        return client.post(
            f"/api/v1/tickets/{ticket.pk}/attachments",
            {"files": [SimpleUploadedFile("小票.pdf", data)]},
            headers={"Idempotency-Key": "photo-1"},
        )

    first, retry = upload(pdf_bytes()), upload(pdf_bytes())
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert TicketAttachment.objects.count() == 1

    # another file of the same name and size under the same key is not a retry
    other = pdf_bytes().replace(b"/Count 0", b"/Count 1")
    assert len(other) == len(pdf_bytes())
    response = upload(other)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert TicketAttachment.objects.count() == 1
