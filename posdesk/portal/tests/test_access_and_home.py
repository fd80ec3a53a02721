"""Who may use the portal, and the merchant's home page."""

from __future__ import annotations

import pytest
from django.test import Client

from posdesk.merchants.models import MerchantContact
from posdesk.tickets.services import ticket_transition
from tests import factories as f

STAFF_ROLES = ["agent", "technician", "vendor", "supervisor", "admin"]


def _portal_pages(ticket_id: int) -> list[tuple[str, str]]:
    return [
        ("get", "/portal/"),
        ("get", "/portal/report/"),
        ("post", "/portal/report/"),
        ("get", f"/portal/tickets/{ticket_id}/"),
        ("post", f"/portal/tickets/{ticket_id}/reply/"),
        ("post", f"/portal/tickets/{ticket_id}/confirm/"),
        ("post", f"/portal/tickets/{ticket_id}/reopen/"),
        ("post", f"/portal/tickets/{ticket_id}/cancel/"),
    ]


def test_anonymous_visitors_are_sent_to_the_portal_sign_in(world, open_ticket):
    ticket = open_ticket()
    client = Client()
    for method, url in _portal_pages(ticket.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/portal/login/?next="), url


def test_an_htmx_request_of_an_anonymous_visitor_is_redirected_by_htmx(world, open_ticket):
    ticket = open_ticket()
    response = Client().post(f"/portal/tickets/{ticket.pk}/reply/", {"body": "hi"}, HTTP_HX_REQUEST="true",
                             HTTP_HX_CURRENT_URL=f"http://testserver/portal/tickets/{ticket.pk}/")
    assert response["HX-Redirect"] == f"/portal/login/?next=%2Fportal%2Ftickets%2F{ticket.pk}%2F"


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_get_a_friendly_403_pointing_to_the_console(world, open_ticket, signed_in, role):
    ticket = open_ticket()
    client = signed_in(world.users[role])
    for method, url in _portal_pages(ticket.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 403, url
    page = client.get("/portal/").content.decode()
    assert "This page is for merchants" in page and 'href="/console/"' in page
    ticket.refresh_from_db()
    assert ticket.status == "new" and ticket.events.count() == 1


def test_the_sign_in_page_is_open_to_everyone(world, signed_in):
    assert Client().get("/portal/login/").status_code == 200
    assert signed_in(world.agent).get("/portal/login/").status_code == 200


def test_home_lists_open_tickets_first_then_recently_finished(world, open_ticket, merchant_client):
    # given one finished and one open ticket of the merchant, and one of another merchant
    finished = open_ticket(text="上周的问题")
    ticket_transition(ticket=finished, actor=world.agent, to_status="cancelled", reason="重复")
    open_one = open_ticket(text="打印机卡纸", terminal=world.terminal)
    foreign = open_ticket(merchant=world.other_merchant)
    page = merchant_client.get("/portal/").content.decode()
    # then the open one is in the first list, the finished one below, the foreign one nowhere
    assert 'id="report-fault"' in page
    open_section, closed_section = page.split('id="open-tickets"')[1].split('id="closed-tickets"')
    assert open_one.number in open_section and finished.number not in open_section
    assert finished.number in closed_section
    assert foreign.number not in page
    assert "SN …0001" in open_section and "status-new" in open_section


def test_a_merchant_with_several_shops_sees_all_of_them(world, open_ticket, merchant_client):
    second_shop = f.MerchantFactory(name="西湖便利店二号店")
    MerchantContact.objects.create(merchant=second_shop, name="张老板", mobile="13812345678",
                                   user=world.merchant_user)
    first, second = open_ticket(), open_ticket(merchant=second_shop)
    page = merchant_client.get("/portal/").content.decode()
    assert first.number in page and second.number in page
    assert "西湖便利店二号店" in page and world.merchant.name in page


def test_home_queries_do_not_grow_with_the_number_of_tickets(world, open_ticket, merchant_client,
                                                              django_assert_max_num_queries):
    for _ in range(15):
        open_ticket(terminal=world.terminal)
    # 6 for the page, 2 for the queue-wait estimate (counted once a minute, then cached), 1 for the
    # outages affecting the merchant (the incident notice)
    with django_assert_max_num_queries(9):
        assert merchant_client.get("/portal/").status_code == 200


def test_ticket_page_queries_do_not_grow_with_the_timeline(world, open_ticket, merchant_client,
                                                           django_assert_max_num_queries):
    from posdesk.tickets.services import ticket_reply

    ticket = open_ticket(terminal=world.terminal)
    for i in range(10):
        ticket_reply(ticket=ticket, actor=world.agent if i % 2 else world.merchant_user, body=f"第{i}条")
    with django_assert_max_num_queries(6):
        assert merchant_client.get(f"/portal/tickets/{ticket.pk}/").status_code == 200
