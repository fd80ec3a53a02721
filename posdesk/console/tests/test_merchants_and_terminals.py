"""Merchant and terminal pages, the merchant list, and the audited "show number"."""

from __future__ import annotations

from django.urls import reverse

from posdesk.audit.models import AuditEntry
from posdesk.console.tests.conftest import HTMX
from posdesk.tickets.services import ticket_assign
from tests import factories as f


def reveal_url(contact) -> str:
    return reverse("console:contact_reveal", args=[contact.pk])


def test_show_number_via_htmx_reveals_the_mobile_and_writes_an_audit_entry(world, console):
    response = console(world.agent).post(reveal_url(world.contact), **HTMX)

    assert response.status_code == 200
    assert "13812345678" in response.content.decode()
    assert response.content.decode().lstrip().startswith(f'<span id="contact-{world.contact.pk}-details"')
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEW_PERSONAL_DATA)
    assert (entry.actor, entry.object_type, entry.object_id) == (
        world.agent,
        "merchants.merchantcontact",
        str(world.contact.pk),
    )


def test_show_number_without_htmx_renders_a_page_and_audits(world, console):
    response = console(world.agent).post(reveal_url(world.contact))

    assert response.status_code == 200
    assert "<html" in response.content.decode() and "13812345678" in response.content.decode()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA).count() == 1


def test_show_number_is_a_post_only(world, console):
    assert console(world.agent).get(reveal_url(world.contact)).status_code == 405
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA).exists()


def test_technician_cannot_reveal_a_contact_of_a_merchant_outside_their_work(world, console, open_ticket):
    ticket = open_ticket(merchant=world.merchant)
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.technician)
    client = console(world.technician)

    assert client.post(reveal_url(world.contact), **HTMX).status_code == 200
    assert client.post(reveal_url(world.other_contact), **HTMX).status_code == 404
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA).count() == 1


def test_merchant_list_searches_by_name_and_mid(world, console):
    client = console(world.agent)

    by_name = client.get(reverse("console:merchant_list"), {"q": "面馆"}).content.decode()
    by_mid = client.get(reverse("console:merchant_list"), {"q": world.merchant.mid}).content.decode()

    assert world.other_merchant.name in by_name and world.merchant.name not in by_name
    assert f'data-mid="{world.merchant.mid}"' in by_mid and world.other_merchant.mid not in by_mid


def test_merchant_list_filters_by_district_via_htmx_partial(world, console):
    response = console(world.agent).get(reverse("console:merchant_list"), {"district": "binjiang"}, **HTMX)

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="merchant-results"')
    assert world.other_merchant.mid in body and world.merchant.mid not in body


def test_merchant_list_query_count_is_bounded(world, console, django_assert_max_num_queries):
    for _ in range(30):
        f.MerchantFactory()
    client = console(world.agent)
    client.get(reverse("console:merchant_list"))

    with django_assert_max_num_queries(6):
        response = client.get(reverse("console:merchant_list"))

    assert response.status_code == 200


def test_merchant_page_shows_details_masked_contacts_terminals_and_tickets(world, console, open_ticket):
    ticket = open_ticket(terminal=world.terminal)

    body = console(world.agent).get(reverse("console:merchant", args=[world.merchant.pk])).content.decode()

    assert world.merchant.mid in body and world.merchant.address in body
    assert "138****5678" in body and "13812345678" not in body
    assert world.terminal.sn in body
    assert ticket.number in body


def test_terminal_page_shows_model_warranty_merchant_and_tickets(world, console, open_ticket):
    ticket = open_ticket(terminal=world.terminal)
    other = open_ticket(merchant=world.merchant)  # no terminal: not listed

    body = (
        console(world.agent, language="en")
        .get(reverse("console:terminal", args=[world.terminal.pk]))
        .content.decode()
    )

    assert world.terminal.sn in body and world.terminal.tid in body and world.terminal.firmware in body
    assert world.merchant.name in body
    assert ticket.number in body and other.number not in body
    assert "1 ticket in the last 30 days" in body


def test_technician_sees_merchant_and_terminal_of_their_work_only(world, console, open_ticket):
    ticket = open_ticket(terminal=world.terminal)
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.technician)
    client = console(world.technician)

    assert client.get(reverse("console:merchant", args=[world.merchant.pk])).status_code == 200
    assert client.get(reverse("console:terminal", args=[world.terminal.pk])).status_code == 200
    assert client.get(reverse("console:merchant", args=[world.other_merchant.pk])).status_code == 404
    assert client.get(reverse("console:terminal", args=[world.other_terminal.pk])).status_code == 404
    listed = client.get(reverse("console:merchant_list")).content.decode()
    assert world.merchant.mid in listed and world.other_merchant.mid not in listed


def test_merchant_user_is_refused_the_merchant_pages(world, console):
    client = console(world.merchant_user)

    assert client.get(reverse("console:merchant", args=[world.merchant.pk])).status_code == 403
    assert client.post(reveal_url(world.contact)).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA).exists()


def test_merchant_and_terminal_pages_query_counts_are_bounded(
    world, console, open_ticket, django_assert_max_num_queries
):
    for _ in range(3):
        f.TerminalFactory(merchant=world.merchant)
    for _ in range(15):
        ticket = open_ticket(terminal=world.terminal)
        ticket_assign(ticket=ticket, actor=world.agent, assignee=world.agent2, team=world.team)
    client = console(world.agent)
    client.get(reverse("console:merchant_list"))

    with django_assert_max_num_queries(7):
        merchant_page = client.get(reverse("console:merchant", args=[world.merchant.pk]))
    with django_assert_max_num_queries(8):
        terminal_page = client.get(reverse("console:terminal", args=[world.terminal.pk]))

    assert merchant_page.status_code == terminal_page.status_code == 200
