"""The self-service answer on the merchant's ticket page: "did this solve it?" with two buttons."""

from __future__ import annotations

from typing import Any

import pytest

from posdesk.core.taxonomy import OPEN_STATUSES, Status
from posdesk.knowledge.models import Deflection
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_open
from posdesk.triage.models import SelfServiceAnswer
from posdesk.triage.pipeline import tickets_triage

HTMX = {"HTTP_HX_REQUEST": "true"}
KNOWN_FIX = "顾客刷卡提示51，怎么回事"


@pytest.fixture
def answered(world: Any) -> Ticket:
    ticket = ticket_open(actor=world.merchant_user, merchant=world.merchant, text=KNOWN_FIX, channel="portal")
    tickets_triage(ticket_ids=[ticket.pk])
    assert SelfServiceAnswer.objects.filter(ticket=ticket, outcome="pending").exists()
    ticket.refresh_from_db()
    return ticket


def test_the_ticket_page_shows_the_answer_and_asks_whether_it_solved_it(
    merchant_client: Any, answered: Ticket
) -> None:
    html = merchant_client.get(f"/portal/tickets/{answered.pk}/").content.decode()
    assert 'id="self-service-question"' in html and "请持卡人换一张卡" in html
    assert 'id="self-service-yes"' in html and 'id="self-service-no"' in html


def test_yes_resolves_the_ticket_as_self_served(world: Any, merchant_client: Any, answered: Ticket) -> None:
    answer = merchant_client.post(f"/portal/tickets/{answered.pk}/self-service/", {"answer": "yes"}, follow=True,
                                  **HTMX)

    assert answer.status_code == 200 and 'id="ticket-body"' in answer.content.decode()
    answered.refresh_from_db()
    assert answered.status == Status.RESOLVED
    assert Deflection.objects.filter(kind="self_service", ticket=answered).count() == 1
    assert 'id="self-service-question"' not in answer.content.decode()


def test_no_keeps_the_ticket_with_the_agents(world: Any, merchant_client: Any, answered: Ticket) -> None:
    answer = merchant_client.post(f"/portal/tickets/{answered.pk}/self-service/", {"answer": "no"})

    assert answer.status_code == 302
    answered.refresh_from_db()
    assert answered.status in OPEN_STATUSES
    page = merchant_client.get(f"/portal/tickets/{answered.pk}/").content.decode()
    assert 'id="self-service-declined"' in page and 'id="self-service-question"' not in page


def test_a_ticket_still_being_triaged_asks_again_shortly(world: Any, merchant_client: Any) -> None:
    ticket = ticket_open(actor=world.merchant_user, merchant=world.merchant, text=KNOWN_FIX, channel="portal")

    page = merchant_client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert f'hx-get="/portal/tickets/{ticket.pk}/self-service/"' in page

    tickets_triage(ticket_ids=[ticket.pk])
    fragment = merchant_client.get(f"/portal/tickets/{ticket.pk}/self-service/", **HTMX).content.decode()
    assert 'id="self-service-question"' in fragment


def test_another_merchants_ticket_is_not_found(world: Any, signed_in: Any, answered: Ticket) -> None:
    from tests import factories as f

    stranger = f.UserFactory(username="m13900001111", role="merchant", mobile="13900001111", organisation=None)
    world.other_contact.user = stranger
    world.other_contact.save(update_fields=["user"])

    answer = signed_in(stranger).post(f"/portal/tickets/{answered.pk}/self-service/", {"answer": "yes"})

    assert answer.status_code == 404
    answered.refresh_from_db()
    assert answered.status in OPEN_STATUSES
