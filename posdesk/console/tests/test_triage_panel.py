"""The triage panel on the console's ticket page: suggestion and confidence, entities masked,
suggested articles, a possible duplicate with a merge button, and one-click correction."""

from __future__ import annotations

from typing import Any

import pytest

from posdesk.core.taxonomy import Category, Priority, Status
from posdesk.knowledge.services import ArticleData, article_create
from posdesk.tickets.models import Ticket
from posdesk.triage.models import TriageCorrection
from posdesk.triage.pipeline import tickets_triage

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def triaged(world: Any, open_ticket: Any) -> Ticket:
    article_create(actor=world.supervisor, data=ArticleData(
        slug="printer-paper", title="打印机不出纸怎么办", steps="1. 打开纸仓", category="hardware",
        status="published"))
    original = open_ticket(text="打印机不出纸", channel="api")
    ticket = open_ticket(text="打印机又不出纸了，回电 13812345678", channel="api")
    tickets_triage(ticket_ids=[original.pk, ticket.pk])
    ticket.refresh_from_db()
    ticket.original = original
    return ticket


def test_the_ticket_page_loads_the_panel_on_its_own(world: Any, console: Any, triaged: Ticket) -> None:
    page = console(world.agent).get(f"/console/tickets/{triaged.pk}/").content.decode()
    assert f'hx-get="/console/tickets/{triaged.pk}/triage/"' in page


def test_the_panel_shows_suggestion_entities_articles_and_duplicate(
    world: Any, console: Any, triaged: Ticket, django_assert_max_num_queries: Any
) -> None:
    client = console(world.agent)
    client.get("/console/")  # the session and language are settled before counting

    with django_assert_max_num_queries(14):
        answer = client.get(f"/console/tickets/{triaged.pk}/triage/", **HTMX)

    html = answer.content.decode()
    assert answer.status_code == 200
    assert 'id="triage-suggestion"' in html and "硬件故障" in html and "%" in html
    assert "138****5678" in html and "13812345678" not in html
    assert "打印机不出纸怎么办" in html
    assert triaged.original.number in html and 'id="triage-merge"' in html


def test_one_click_corrects_the_priority_and_shows_the_workspace_again(
    world: Any, console: Any, triaged: Ticket
) -> None:
    answer = console(world.agent).post(f"/console/tickets/{triaged.pk}/triage/correct/", {"priority": "P1"},
                                       follow=True, **HTMX)

    assert answer.status_code == 200
    assert 'id="ticket-workspace"' in answer.content.decode()
    triaged.refresh_from_db()
    assert triaged.priority == Priority.P1
    correction = TriageCorrection.objects.get(ticket=triaged)
    assert (correction.field, correction.to_value, correction.actor_id) == ("priority", "P1", world.agent.pk)


def test_a_plain_post_corrects_the_category_and_redirects_back(world: Any, console: Any, triaged: Ticket) -> None:
    answer = console(world.supervisor).post(f"/console/tickets/{triaged.pk}/triage/correct/", {"category": "network"})

    assert answer.status_code == 302 and answer["Location"] == f"/console/tickets/{triaged.pk}/"
    triaged.refresh_from_db()
    assert triaged.category == Category.NETWORK


def test_a_bad_value_is_shown_in_the_panel_and_changes_nothing(world: Any, console: Any, triaged: Ticket) -> None:
    answer = console(world.agent, language="en").post(f"/console/tickets/{triaged.pk}/triage/correct/",
                                                       {"category": "printer"}, **HTMX)

    assert answer.status_code == 200 and answer["HX-Retarget"] == "#triage-panel"
    assert 'id="triage-error"' in answer.content.decode()
    assert not TriageCorrection.objects.exists()


def test_the_merge_button_merges_into_the_possible_duplicate(world: Any, console: Any, triaged: Ticket) -> None:
    answer = console(world.agent).post(f"/console/tickets/{triaged.pk}/merge/",
                                       {"original": triaged.original.number, "reason": ""})

    assert answer.status_code == 302
    triaged.refresh_from_db()
    assert triaged.merged_into_id == triaged.original.pk and triaged.status == Status.CLOSED


@pytest.mark.parametrize("role", ["technician", "vendor"])
def test_field_staff_see_the_panel_of_their_ticket_but_cannot_correct(
    world: Any, console: Any, triaged: Ticket, role: str
) -> None:
    from posdesk.tickets.services import ticket_assign

    ticket_assign(ticket=triaged, actor=world.agent, assignee=world.technician if role == "technician" else
                  world.vendor, vendor=world.vendor_org)
    client = console(world.users[role])

    panel = client.get(f"/console/tickets/{triaged.pk}/triage/").content.decode()
    correct = client.post(f"/console/tickets/{triaged.pk}/triage/correct/", {"priority": "P1"})

    assert 'id="triage-suggestion"' in panel and 'id="triage-correct-priority"' not in panel
    assert correct.status_code == 403
    assert not TriageCorrection.objects.exists()


def test_a_merchant_is_turned_away(world: Any, console: Any, triaged: Ticket) -> None:
    assert console(world.merchant_user).get(f"/console/tickets/{triaged.pk}/triage/").status_code == 403


def test_a_ticket_not_triaged_yet_says_so(world: Any, console: Any, open_ticket: Any) -> None:
    ticket = open_ticket(channel="api")
    html = console(world.agent).get(f"/console/tickets/{ticket.pk}/triage/").content.decode()
    assert 'id="triage-pending"' in html
