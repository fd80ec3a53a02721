"""The triage API: GET /tickets/{id}/triage and POST /tickets/{id}/triage/correction."""

from __future__ import annotations

from typing import Any

import pytest

from posdesk.core.taxonomy import Category, Priority
from posdesk.tickets.models import TicketEvent
from posdesk.triage.models import TriageCorrection
from posdesk.triage.pipeline import tickets_triage
from posdesk.triage.selectors import triage_corrections_for_training

JSON = "application/json"


@pytest.fixture
def triaged(world: Any, open_ticket: Any) -> Any:
    original = open_ticket(text="打印机不出纸", channel="api")
    ticket = open_ticket(text="打印机又不出纸了，我手机 13812345678，终端号 10000001", channel="api")
    tickets_triage(ticket_ids=[original.pk, ticket.pk])
    ticket.refresh_from_db()
    ticket.original = original
    return ticket


def test_an_agent_reads_the_triage_with_the_personal_data_masked(world: Any, api: Any, triaged: Any) -> None:
    answer = api(world.agent).get(f"/api/v1/tickets/{triaged.pk}/triage")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["category"] == Category.HARDWARE and body["priority"] in Priority.values
    assert 0 < body["confidence"] <= 1 and body["model_version"]
    assert body["entities"]["phone"] == ["138****5678"] and body["entities"]["tid"] == ["10000001"]
    assert body["possible_duplicate"]["number"] == triaged.original.number
    assert body["applied"]["category"] == [Category.CONSULTATION, Category.HARDWARE]
    assert body["corrections"] == [] and body["self_service"] is None
    assert "13812345678" not in answer.content.decode()


def test_a_ticket_not_triaged_yet_answers_not_triaged(world: Any, api: Any, open_ticket: Any) -> None:
    ticket = open_ticket(channel="api")

    answer = api(world.agent).get(f"/api/v1/tickets/{ticket.pk}/triage")

    assert answer.status_code == 404 and answer.json()["code"] == "not_triaged"


def test_a_merchant_may_not_read_the_triage_of_their_own_ticket(world: Any, api: Any, triaged: Any) -> None:
    answer = api(world.merchant_user).get(f"/api/v1/tickets/{triaged.pk}/triage")
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"


def test_an_agent_corrects_the_priority_and_the_correction_is_stored_for_training(
    world: Any, api: Any, triaged: Any
) -> None:
    before = triaged.priority

    answer = api(world.agent).post(f"/api/v1/tickets/{triaged.pk}/triage/correction",
                                   data={"priority": "P1"}, content_type=JSON, headers={"Idempotency-Key": "c-1"})

    assert answer.status_code == 201, answer.content
    [correction] = answer.json()["corrections"]
    assert (correction["field"], correction["from_value"], correction["to_value"]) == ("priority", before, "P1")
    assert correction["actor"] == str(world.agent)
    triaged.refresh_from_db()
    assert triaged.priority == Priority.P1
    # applied through ticket_classify: the timeline and the deadlines follow
    assert triaged.events.filter(kind=TicketEvent.Kind.FIELDS_CHANGED, actor=world.agent).exists()
    assert (triaged.description, None, "P1") in triage_corrections_for_training()


def test_a_retried_correction_is_stored_once(world: Any, api: Any, triaged: Any) -> None:
    client = api(world.agent)
    for _ in range(2):
        answer = client.post(f"/api/v1/tickets/{triaged.pk}/triage/correction", data={"category": "software"},
                             content_type=JSON, headers={"Idempotency-Key": "c-2"})
        assert answer.status_code == 201
    assert TriageCorrection.objects.filter(ticket=triaged).count() == 1


def test_the_training_data_holds_the_latest_correction_of_each_field(world: Any, api: Any, triaged: Any) -> None:
    client = api(world.agent)
    for payload in ({"category": "software"}, {"category": "network", "priority": "P1"}):
        client.post(f"/api/v1/tickets/{triaged.pk}/triage/correction", data=payload, content_type=JSON)

    assert triage_corrections_for_training() == [(triaged.description, "network", "P1")]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"category": "printer"}, 422, "invalid_category"),
        ({"priority": "P9"}, 422, "invalid_priority"),
        ({}, 422, "correction_empty"),
    ],
)
def test_a_bad_correction_is_refused_and_changes_nothing(
    world: Any, api: Any, triaged: Any, payload: dict, status: int, code: str
) -> None:
    answer = api(world.agent, language="en").post(f"/api/v1/tickets/{triaged.pk}/triage/correction", data=payload,
                                                  content_type=JSON)

    assert answer.status_code == status and answer.json()["code"] == code
    assert answer.json()["message"]
    assert not TriageCorrection.objects.exists()


@pytest.mark.parametrize("role", ["technician", "vendor"])
def test_field_staff_may_not_correct_triage(world: Any, api: Any, triaged: Any, role: str) -> None:
    answer = api(world.users[role]).post(f"/api/v1/tickets/{triaged.pk}/triage/correction",
                                         data={"priority": "P1"}, content_type=JSON)
    assert answer.status_code in (403, 404)
    assert not TriageCorrection.objects.exists()
