"""The ticket queue: filters, search, sort, paging, saved views and bulk assignment."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from posdesk.console.models import SavedView
from posdesk.console.tests.conftest import HTMX
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_assign, ticket_transition

QUEUE = "/console/"


def numbers_in(response) -> list[str]:
    """The ticket numbers shown as rows of the queue, in order."""
    return re.findall(r'data-number="(T\d+)"', response.content.decode())


@pytest.fixture
def tickets(world, open_ticket):
    """Five tickets that differ in one filter each."""
    t = {
        "hardware_p1": open_ticket(
            category="hardware", priority="P1", terminal=world.terminal, channel="phone"
        ),
        "network_p2": open_ticket(category="network", priority="P2", channel="wechat"),
        "fees_p3": open_ticket(category="fees", priority="P3", channel="portal"),
        "binjiang": open_ticket(
            merchant=world.other_merchant, terminal=world.other_terminal, category="software", priority="P2"
        ),
        "resolved": open_ticket(category="consultation", priority="P4"),
    }
    ticket_transition(ticket=t["resolved"], actor=world.agent, to_status="resolved")
    ticket_assign(ticket=t["hardware_p1"], actor=world.agent, assignee=world.agent, team=world.team)
    ticket_assign(ticket=t["network_p2"], actor=world.agent, assignee=world.agent2)
    return {k: Ticket.objects.get(pk=v.pk) for k, v in t.items()}


def test_default_queue_shows_open_tickets_newest_first(world, console, tickets):
    response = console(world.agent).get(QUEUE)

    assert response.status_code == 200
    assert numbers_in(response) == [
        tickets[k].number for k in ("binjiang", "fees_p3", "network_p2", "hardware_p1")
    ]
    assert tickets["resolved"].number not in numbers_in(response)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "resolved"}, ["resolved"]),
        ({"status": "all"}, ["resolved", "binjiang", "fees_p3", "network_p2", "hardware_p1"]),
        ({"priority": "P2"}, ["binjiang", "network_p2"]),
        ({"category": "fees"}, ["fees_p3"]),
        ({"channel": "wechat"}, ["network_p2"]),
        ({"assignee": "me"}, ["hardware_p1"]),
        ({"assignee": "none"}, ["binjiang", "fees_p3"]),
        ({"district": "binjiang"}, ["binjiang"]),
        ({"priority": "P2", "district": "xihu"}, ["network_p2"]),
    ],
)
def test_queue_filters_show_only_matching_tickets(world, console, tickets, params, expected):
    response = console(world.agent).get(QUEUE, params)

    assert numbers_in(response) == [tickets[k].number for k in expected]


def test_queue_filters_by_team_and_by_a_named_assignee(world, console, tickets):
    client = console(world.agent)

    by_team = client.get(QUEUE, {"team": world.team.pk})
    by_person = client.get(QUEUE, {"assignee": world.agent2.pk})

    assert numbers_in(by_team) == [tickets["hardware_p1"].number]
    assert numbers_in(by_person) == [tickets["network_p2"].number]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("number", ["fees_p3"]),
        ("898330160120099", ["binjiang"]),  # MID of the other merchant
        ("10000001", ["hardware_p1"]),  # TID
        ("n7nl00000001", ["hardware_p1"]),  # SN, any case
        ("138 1234 5678", ["fees_p3", "network_p2", "hardware_p1"]),  # contact mobile of world.merchant
    ],
)
def test_search_box_finds_tickets_by_number_mid_tid_sn_and_mobile(world, console, tickets, query, expected):
    if query == "number":
        query = tickets["fees_p3"].number.lower()

    response = console(world.agent).get(QUEUE, {"q": query})

    assert numbers_in(response) == [tickets[k].number for k in expected]


def test_sort_oldest_first_reverses_the_order(world, console, tickets):
    response = console(world.agent).get(QUEUE, {"sort": "created_at"})

    assert numbers_in(response) == [
        tickets[k].number for k in ("hardware_p1", "network_p2", "fees_p3", "binjiang")
    ]


def test_unknown_filter_value_shows_an_error_and_no_rows(world, console, tickets):
    response = console(world.agent, language="en").get(QUEUE, {"priority": "P9"})

    assert response.status_code == 200
    assert "Unknown value: P9" in response.content.decode()
    assert numbers_in(response) == []


def test_technician_queue_shows_only_their_own_work(world, console, tickets):
    ticket_assign(ticket=tickets["fees_p3"], actor=world.agent, assignee=world.technician)

    response = console(world.technician).get(QUEUE, {"status": "all"})

    assert numbers_in(response) == [tickets["fees_p3"].number]


def test_htmx_filter_request_gets_only_the_results_partial(world, console, tickets):
    response = console(world.agent).get(QUEUE, {"category": "fees"}, **HTMX)

    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="queue-results"')
    assert numbers_in(response) == [tickets["fees_p3"].number]
    assert "HX-Request" in response["Vary"]


def test_whole_page_has_the_filter_form_and_results_container(world, console, tickets):
    body = console(world.agent).get(QUEUE).content.decode()

    assert 'id="queue-filters"' in body
    assert 'id="queue-results"' in body
    assert 'hx-push-url="true"' in body


def test_keyset_paging_walks_every_ticket_once(world, console, open_ticket, monkeypatch):
    monkeypatch.setattr("posdesk.console.views.QUEUE_PAGE_SIZE", 2)
    opened = [open_ticket(text=f"故障 {i}") for i in range(5)]
    client = console(world.agent)

    seen, url, pages = [], QUEUE, 0
    while url:
        response = client.get(url)
        seen += numbers_in(response)
        match = re.search(r'id="queue-next" href="([^"]+)"', response.content.decode())
        url = match.group(1).replace("&amp;", "&") if match else None
        pages += 1

    assert pages == 3
    assert seen == [t.number for t in reversed(opened)]


def test_count_shows_a_plus_when_capped(world, console, tickets, monkeypatch):
    monkeypatch.setattr("posdesk.tickets.selectors.COUNT_CAP", 2)

    body = console(world.agent, language="en").get(QUEUE).content.decode()

    assert "2+ tickets" in body


def test_queue_query_count_does_not_grow_with_rows(
    world, console, open_ticket, django_assert_max_num_queries
):
    client = console(world.agent)
    for i in range(30):
        ticket = open_ticket(text=f"故障 {i}", terminal=world.terminal)
        ticket_assign(ticket=ticket, actor=world.agent, assignee=world.agent2, team=world.team)
    client.get(QUEUE)  # warm the session

    # the page is read as its ids, then their rows (tickets/selectors.py `ticket_queue`)
    with django_assert_max_num_queries(12):  # incl. the agent's own routing status for the sidebar
        response = client.get(QUEUE)
    with django_assert_max_num_queries(7):
        partial = client.get(QUEUE, {"priority": "P3"}, **HTMX)

    assert len(numbers_in(response)) == 30
    assert len(numbers_in(partial)) == 30


# --- saved views ----------------------------------------------------------------------------


def test_agent_saves_the_current_filters_and_sees_the_view_as_a_link(world, console, tickets):
    client = console(world.agent)

    response = client.post(
        reverse("console:saved_view_create"),
        {"name": "P2 网络", "query": "priority=P2&category=network&cursor=abc&csrf=x"},
        **HTMX,
    )

    view = SavedView.objects.get(user=world.agent)
    assert view.name == "P2 网络"
    assert view.query == "priority=P2&category=network"
    assert response.content.decode().lstrip().startswith('<div id="saved-views"')
    assert f'href="/console/?{view.query}"' in response.content.decode().replace("&amp;", "&")
    linked = client.get(QUEUE + "?" + view.query)
    assert numbers_in(linked) == [tickets["network_p2"].number]


def test_saving_without_htmx_redirects_back_to_the_filtered_queue(world, console):
    response = console(world.agent).post(
        reverse("console:saved_view_create"), {"name": "我的", "query": "assignee=me"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/console/?assignee=me"
    assert SavedView.objects.filter(user=world.agent, name="我的").exists()


def test_a_second_view_with_the_same_name_is_refused(world, console):
    client = console(world.agent, language="en")
    client.post(reverse("console:saved_view_create"), {"name": "P1", "query": "priority=P1"}, **HTMX)

    response = client.post(
        reverse("console:saved_view_create"), {"name": "P1", "query": "priority=P2"}, **HTMX
    )

    assert "You already have a view with this name." in response.content.decode()
    assert SavedView.objects.get(user=world.agent).query == "priority=P1"


def test_saved_views_are_private_and_only_the_owner_deletes_them(world, console):
    mine = SavedView.objects.create(user=world.agent, name="mine", query="priority=P1")
    theirs = SavedView.objects.create(user=world.agent2, name="theirs", query="priority=P2")
    client = console(world.agent)

    page = client.get(QUEUE).content.decode()
    foreign = client.post(reverse("console:saved_view_delete", args=[theirs.pk]), **HTMX)
    own = client.post(reverse("console:saved_view_delete", args=[mine.pk]), **HTMX)

    assert ">mine<" in page and ">theirs<" not in page
    assert foreign.status_code == 404
    assert own.status_code == 200
    assert list(SavedView.objects.values_list("name", flat=True)) == ["theirs"]


# --- bulk assign ----------------------------------------------------------------------------


def test_agent_bulk_assigns_ticked_tickets_to_a_person_and_team(world, console, tickets):
    picked = [tickets["fees_p3"], tickets["binjiang"]]

    response = console(world.agent, language="en").post(
        reverse("console:bulk_assign") + "?assignee=none",
        {"ticket": [t.pk for t in picked], "assignee": str(world.agent2.pk), "team": str(world.team.pk)},
        **HTMX,
    )

    assert response.status_code == 200
    assert "2 of 2 tickets reassigned." in response.content.decode()
    for ticket in picked:
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.team) == (world.agent2, world.team)
    assert numbers_in(response) == []  # the "unassigned" filter no longer matches them


def test_bulk_assign_without_htmx_redirects_back_with_the_filters(world, console, tickets):
    response = console(world.agent).post(
        reverse("console:bulk_assign") + "?priority=P3",
        {"ticket": [tickets["fees_p3"].pk], "assignee": "none", "team": str(world.team.pk)},
    )

    assert response.status_code == 302
    assert response["Location"] == "/console/?priority=P3"
    tickets["fees_p3"].refresh_from_db()
    assert tickets["fees_p3"].team == world.team


def test_bulk_assign_needs_an_assignee_or_a_team(world, console, tickets):
    response = console(world.agent, language="en").post(
        reverse("console:bulk_assign"),
        {"ticket": [tickets["fees_p3"].pk], "assignee": "", "team": ""},
        **HTMX,
    )

    assert "Choose an assignee or a team." in response.content.decode()


def test_technician_cannot_bulk_assign_and_nothing_changes(world, console, tickets):
    ticket = tickets["fees_p3"]
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.technician)
    client = console(world.technician, language="en")

    page = client.get(QUEUE).content.decode()
    response = client.post(
        reverse("console:bulk_assign"), {"ticket": [ticket.pk], "assignee": "none", "team": ""}, **HTMX
    )

    assert 'id="bulk-assignee"' not in page
    assert "You may not assign these tickets" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee == world.technician


def test_bulk_assign_is_all_or_nothing_when_one_ticket_cannot_be_assigned(world, console, tickets):
    """A vendor may assign the tickets given to its organisation, not others."""
    own = tickets["fees_p3"]
    ticket_assign(ticket=own, actor=world.agent, vendor=world.vendor_org)
    foreign = tickets["network_p2"]
    ticket_assign(ticket=foreign, actor=world.agent, vendor=world.other_vendor_org)

    response = console(world.vendor, language="en").post(
        reverse("console:bulk_assign"),
        {"ticket": [own.pk, foreign.pk], "assignee": str(world.vendor_tech.pk), "team": ""},
        **HTMX,
    )

    assert response.status_code == 200
    own.refresh_from_db()
    assert own.assignee is None
    assert "no such ticket" in response.content.decode().lower()


def test_vendor_bulk_assigns_its_own_tickets_to_its_staff(world, console, tickets):
    own = tickets["fees_p3"]
    ticket_assign(ticket=own, actor=world.agent, vendor=world.vendor_org)

    console(world.vendor).post(
        reverse("console:bulk_assign"),
        {"ticket": [own.pk], "assignee": str(world.vendor_tech.pk), "team": ""},
        **HTMX,
    )

    own.refresh_from_db()
    assert own.assignee == world.vendor_tech
