"""Bad input on the API: each gets the one error shape `{"code", "message", "detail"}` with the
message in the caller's language (zh-Hans by default, English with `Accept-Language: en`), and
changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from posdesk.accounts.models import ApiToken
from posdesk.audit.models import AuditEntry
from posdesk.core.models import IdempotencyRecord
from posdesk.merchants.models import Merchant, MerchantContact
from posdesk.outbox.models import OutboxMessage
from posdesk.terminals.models import Terminal
from posdesk.tickets.models import Ticket, TicketAttachment, TicketEvent
from posdesk.tickets.tests.builders import exe_bytes, image_bytes, png_bytes

JSON = "application/json"
TABLES = [
    Ticket,
    TicketEvent,
    TicketAttachment,
    AuditEntry,
    IdempotencyRecord,
    Merchant,
    MerchantContact,
    Terminal,
    OutboxMessage,
]


@dataclass
class Case:
    status: int
    code: str
    english: str
    send: Any  # (client, ticket) -> response
    token: str = "agent"  # whose token: a role, "none" or "bad"


def _ticket_create(**fields):
    return lambda client, ticket: client.post(
        "/api/v1/tickets",
        data={"text": "刷卡没反应", **fields},
        content_type=JSON,
        headers={"Idempotency-Key": "bad-input-1"},
    )


def _upload(name, data):
    return lambda client, ticket: client.post(
        f"/api/v1/tickets/{ticket.pk}/attachments", {"files": [SimpleUploadedFile(name, data)]}
    )


CASES = {
    "malformed MID": Case(
        422,
        "invalid_mid",
        "A merchant number (MID) is exactly 15 digits.",
        _ticket_create(mid="89833016012002"),
    ),
    "malformed TID": Case(
        422,
        "invalid_tid",
        "A terminal number (TID) is exactly 8 digits.",
        _ticket_create(mid="898330160120021", tid="1000-001"),
    ),
    "malformed SN": Case(
        422,
        "invalid_sn",
        "A serial number (SN) is 6 to 32 letters, digits or hyphens.",
        _ticket_create(mid="898330160120021", sn="N7 NL"),
    ),
    "unknown merchant": Case(
        404,
        "merchant_not_found",
        "The requested item does not exist or you may not see it.",
        _ticket_create(mid="898330000000000"),
    ),
    "missing text": Case(
        422,
        "validation_error",
        "Some fields are not valid: text",
        lambda client, ticket: client.post(
            "/api/v1/tickets", data={"mid": "898330160120021"}, content_type=JSON
        ),
    ),
    "blank text": Case(
        422,
        "text_required",
        "Please describe the problem.",
        _ticket_create(mid="898330160120021", text="   "),
    ),
    "malformed JSON": Case(
        400,
        "malformed_json",
        "The request body is not valid JSON.",
        lambda client, ticket: client.post(
            "/api/v1/tickets", data='{"text": "坏了", "mid": ', content_type=JSON
        ),
    ),
    "illegal transition": Case(
        409,
        "illegal_transition",
        "A ticket cannot go from “New” to “Closed”.",
        lambda client, ticket: client.post(
            f"/api/v1/tickets/{ticket.pk}/transitions", data={"to_status": "closed"}, content_type=JSON
        ),
    ),
    "unknown status": Case(
        422,
        "invalid_status",
        "Unknown status.",
        lambda client, ticket: client.post(
            f"/api/v1/tickets/{ticket.pk}/transitions", data={"to_status": "fixed"}, content_type=JSON
        ),
    ),
    "wrong-type file": Case(
        422,
        "attachment_type_not_allowed",
        "The file setup.png is not an accepted type: photos (JPEG, PNG, WebP, GIF) or PDF only.",
        _upload("setup.png", exe_bytes()),
    ),
    "oversize file": Case(
        422,
        "attachment_too_large",
        "The file big.png is larger than 500\xa0bytes.",
        _upload("big.png", image_bytes("PNG", size=(300, 300))),
    ),
    "missing token": Case(
        401,
        "not_authenticated",
        "Sign-in required: send a valid token in the Authorization header.",
        lambda client, ticket: client.get("/api/v1/tickets"),
        token="none",
    ),
    "bad token": Case(
        401,
        "not_authenticated",
        "Sign-in required: send a valid token in the Authorization header.",
        lambda client, ticket: client.post(
            "/api/v1/tickets", data={"text": "坏了", "mid": "898330160120021"}, content_type=JSON
        ),
        token="bad",
    ),
    "unknown filter value": Case(
        422,
        "invalid_filter",
        "Unknown value: bogus",
        lambda client, ticket: client.get("/api/v1/tickets?status=new,bogus"),
    ),
    "unknown sort": Case(
        422,
        "invalid_sort",
        "Unknown sort order.",
        lambda client, ticket: client.get("/api/v1/tickets?sort=-priority"),
    ),
    "bad cursor": Case(
        422,
        "invalid_cursor",
        "The page cursor is not valid.",
        lambda client, ticket: client.get("/api/v1/tickets?cursor=not-a-cursor"),
    ),
    "out-of-range id filter": Case(
        422,
        "invalid_filter",
        "Unknown value: 99999999999999999999",
        lambda client, ticket: client.get("/api/v1/tickets?team=99999999999999999999"),
    ),
    "cursor beyond the calendar": Case(
        422,
        "invalid_cursor",
        "The page cursor is not valid.",
        # ["9999-12-31T23:59:59-14:00", 1]: a valid date that is past year 9999 in UTC
        lambda client, ticket: client.get(
            "/api/v1/tickets?cursor=WyI5OTk5LTEyLTMxVDIzOjU5OjU5LTE0OjAwIiwgMV0"
        ),
    ),
    "overlong merchant name": Case(
        422,
        "validation_error",
        "Some fields are not valid: name",
        lambda client, ticket: client.post(
            "/api/v1/merchants", data={"mid": "898330160120077", "name": "店" * 121}, content_type=JSON
        ),
    ),
    "page too large": Case(
        422,
        "invalid_limit",
        "The page size must be between 1 and 100.",
        lambda client, ticket: client.get("/api/v1/tickets?limit=500"),
    ),
    "another merchant's ticket": Case(
        404,
        "ticket_not_found",
        "No such ticket, or it is not yours to see.",
        lambda client, ticket: client.post(
            f"/api/v1/tickets/{ticket.pk}/replies", data={"body": "喂"}, content_type=JSON
        ),
        token="other_merchant",
    ),
    "note by a merchant": Case(
        403,
        "forbidden",
        "You are not allowed to do this.",
        lambda client, ticket: client.post(
            f"/api/v1/tickets/{ticket.pk}/notes", data={"body": "喂"}, content_type=JSON
        ),
        token="merchant",
    ),
    "malformed MID for a merchant": Case(
        422,
        "invalid_mid",
        "A merchant number (MID) is exactly 15 digits.",
        lambda client, ticket: client.post(
            "/api/v1/merchants", data={"mid": "898330-1601200", "name": "某店"}, content_type=JSON
        ),
    ),
    "malformed TID for a terminal": Case(
        422,
        "invalid_tid",
        "A terminal number (TID) is exactly 8 digits.",
        lambda client, ticket: client.post(
            "/api/v1/terminals",
            data={"sn": "N7NL00000777", "tid": "１０００００７７", "model": "newland-me31"},
            content_type=JSON,
        ),
    ),
}


@pytest.fixture
def setting_for_errors(settings):
    settings.ATTACHMENT_MAX_BYTES = 500


def _client(world, api, token: str, language: str | None) -> Client:
    headers = {"Accept-Language": language} if language else {}
    if token == "none":
        return Client(headers=headers)
    if token == "bad":
        return Client(headers={**headers, "Authorization": "Bearer pd_this-token-was-never-issued"})
    if token == "other_merchant":
        from posdesk.accounts.models import Role
        from tests import factories as f

        stranger = f.UserFactory(
            username="m13900001111", role=Role.MERCHANT, mobile="13900001111", organisation=None
        )
        world.other_contact.user = stranger
        world.other_contact.save(update_fields=["user"])
        return api(stranger, language)
    return api(world.users[token], language)


def _counts() -> list[int]:
    return [model.objects.count() for model in TABLES]


@pytest.mark.parametrize("language", [None, "en"], ids=["default-zh", "en"])
@pytest.mark.parametrize("case_name", list(CASES))
def test_bad_input_gets_the_error_shape_in_the_callers_language_and_changes_nothing(
    world, api, open_ticket, setting_for_errors, case_name, language
):
    # given a ticket of the merchant and a caller
    case = CASES[case_name]
    ticket = open_ticket()
    client = _client(world, api, case.token, language)
    before = _counts()
    tokens_before = ApiToken.objects.count()

    # when the bad request is sent
    response = case.send(client, ticket)

    # then it is refused with the one error shape, in the caller's language
    assert response.status_code == case.status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == case.code
    if language == "en":
        assert response["Content-Language"] == "en"
        assert body["message"] == case.english
    else:
        assert response["Content-Language"] == "zh-hans"
        assert body["message"]

    # and nothing changed
    assert _counts() == before
    assert ApiToken.objects.count() == tokens_before


def test_field_messages_come_in_chinese_by_default_and_english_on_request(world, api):
    payload = {"mid": "898330160120021"}
    zh = api(world.agent).post("/api/v1/tickets", data=payload, content_type=JSON).json()
    en = api(world.agent, "en").post("/api/v1/tickets", data=payload, content_type=JSON).json()
    assert en["detail"] == [{"field": "text", "type": "missing", "message": "This field is required."}]
    # zh-Hans (Django's own catalogue has this msgid; the wording may be refined centrally)
    (field,) = zh["detail"]
    assert (field["field"], field["type"]) == ("text", "missing")
    assert any("\u4e00" <= c <= "\u9fff" for c in field["message"]), field["message"]


def test_the_file_size_limit_is_told_in_the_callers_language(world, api, open_ticket, settings):
    settings.ATTACHMENT_MAX_BYTES = 500
    ticket = open_ticket()
    upload = {"files": [SimpleUploadedFile("big.png", image_bytes("PNG", size=(300, 300)))]}
    zh = api(world.agent).post(f"/api/v1/tickets/{ticket.pk}/attachments", upload).json()
    assert zh["detail"]["max_bytes"] == 500
    assert "字节" in zh["message"]  # Django's own zh-Hans file-size units, whatever the sentence says


def test_an_illegal_transition_lists_the_allowed_moves_in_detail(world, api, open_ticket):
    ticket = open_ticket()
    body = (
        api(world.agent, "en")
        .post(f"/api/v1/tickets/{ticket.pk}/transitions", data={"to_status": "closed"}, content_type=JSON)
        .json()
    )
    assert body["detail"] == {
        "from": "new",
        "to": "closed",
        "allowed": sorted(
            ["cancelled", "in_progress", "onsite_scheduled", "resolved", "triaged", "waiting_merchant"]
        ),
    }


def test_a_valid_upload_after_a_refused_one_still_works(world, api, open_ticket):
    ticket = open_ticket()
    client = api(world.merchant_user)
    refused = client.post(
        f"/api/v1/tickets/{ticket.pk}/attachments", {"files": [SimpleUploadedFile("a.png", exe_bytes())]}
    )
    accepted = client.post(
        f"/api/v1/tickets/{ticket.pk}/attachments", {"files": [SimpleUploadedFile("a.png", png_bytes())]}
    )
    assert (refused.status_code, accepted.status_code) == (422, 201)


def test_a_value_the_database_refuses_is_422_not_500(world, api, monkeypatch):
    """The safety net for values the schemas let through but the database refuses (PostgreSQL:
    too long for the column, NUL, number out of range)."""
    from django.db import DataError

    from posdesk.merchants import services

    def refuse(**kwargs):
        raise DataError("value too long for type character varying(120)")

    monkeypatch.setattr(services, "merchant_create", refuse)
    for language, english in ((None, False), ("en", True)):
        response = api(world.agent, language).post(
            "/api/v1/merchants", data={"mid": "898330160120077", "name": "某店"}, content_type=JSON
        )
        assert response.status_code == 422
        body = response.json()
        assert set(body) == {"code", "message", "detail"}
        assert body["code"] == "invalid_value"
        if english:
            assert body["message"] == "A value is too long or contains characters that cannot be stored."


@pytest.mark.parametrize("case_name", list(CASES))
def test_the_default_message_is_written_in_chinese(world, api, open_ticket, setting_for_errors, case_name):
    case = CASES[case_name]
    body = case.send(_client(world, api, case.token, None), open_ticket()).json()
    assert body["message"] != case.english
    assert any("\u4e00" <= c <= "\u9fff" for c in body["message"]), body["message"]
