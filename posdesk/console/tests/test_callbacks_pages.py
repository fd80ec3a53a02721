"""The console's callback queue and the contact panel on the ticket page: who may see them, what
they show, completing a callback and logging a call with and without htmx, and query counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from posdesk.channels.models import CallbackTask, CallRecord
from posdesk.channels.phone.services import call_event_record, call_log_outbound
from posdesk.console.tests.conftest import HTMX
from posdesk.contact.models import ContactDecision
from posdesk.tickets.services import ticket_assign

pytestmark = pytest.mark.django_db

MONDAY_1000 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
QUEUE = "/console/callbacks/"


@pytest.fixture(autouse=True)
def _monday(time_machine):
    time_machine.move_to(MONDAY_1000, tick=False)


@pytest.fixture
def missed(world) -> CallbackTask:
    call_event_record(call_id="CC-1", event="missed", caller="13812345678", at=MONDAY_1000)
    return CallbackTask.objects.get()


@pytest.fixture
def ticket(world, open_ticket):
    return open_ticket(terminal=world.terminal, category="hardware", priority="P2")


def panel_url(ticket) -> str:
    return reverse("console:ticket_contact", args=[ticket.pk])


def call_url(ticket) -> str:
    return reverse("console:ticket_call_log", args=[ticket.pk])


# --- the callback queue ------------------------------------------------------------------------


def test_the_queue_has_its_address():
    assert reverse("console:callbacks") == QUEUE


def test_an_anonymous_visitor_is_sent_to_sign_in(world, console):
    response = console(None).get(QUEUE)

    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize("role, expected", [
    ("merchant", 403), ("technician", 403), ("vendor", 403), ("agent", 200), ("supervisor", 200), ("admin", 200),
])
def test_the_callback_queue_is_for_the_desk(world, console, missed, role, expected):
    response = console(world.users[role], language="en").get(QUEUE)

    assert response.status_code == expected
    assert ('id="callback-table"' in response.content.decode()) == (expected == 200)


def test_the_queue_lists_open_callbacks_masked_and_most_urgent_first(world, console, missed):
    # given a later missed call from an unknown number
    call_event_record(call_id="CC-2", event="abandoned", caller="13900002222",
                      at=datetime(2026, 11, 23, 2, 30, tzinfo=UTC))

    body = console(world.agent, language="en").get(QUEUE).content.decode()

    assert "138****5678" in body and "13812345678" not in body and "139****2222" in body
    assert world.merchant.name in body and "Unknown caller" in body
    assert body.index("138****5678") < body.index("139****2222")  # due 10:15 before 10:45
    assert 'class="sla sla-on_track" data-due="2026-11-23T02:15:00+00:00"' in body
    assert "15 min left" in body
    assert 'id="nav-callbacks"' in body


def test_an_overdue_callback_shows_as_overdue(world, console, missed, time_machine):
    time_machine.move_to(datetime(2026, 11, 23, 2, 45, tzinfo=UTC), tick=False)

    body = console(world.agent, language="en").get(QUEUE).content.decode()

    assert "sla-breached" in body and "30 min overdue" in body


def test_completing_a_callback_with_htmx_answers_the_refreshed_queue(world, console, missed):
    client = console(world.agent, language="en")

    response = client.post(reverse("console:callback_complete", args=[missed.pk]),
                           {"outcome": "reached", "note": "已解决"}, **HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card" id="callback-queue">')  # the partial alone
    assert "Callback logged and closed." in body and "No callbacks waiting." in body
    assert CallbackTask.objects.get().status == "done"
    assert ContactDecision.objects.get(contacted=True).purpose == "service_reply"  # the call, not the queueing


def test_completing_a_callback_without_javascript_redirects_back(world, console, missed):
    response = console(world.agent).post(reverse("console:callback_complete", args=[missed.pk]),
                                         {"outcome": "no_answer"})

    assert response.status_code == 302 and response["Location"] == QUEUE
    task = CallbackTask.objects.get()
    assert (task.status, task.attempts) == ("open", 1)


def test_an_invalid_outcome_is_shown_and_changes_nothing(world, console, missed):
    response = console(world.agent, language="en").post(
        reverse("console:callback_complete", args=[missed.pk]), {"outcome": "great"}, **HTMX)

    assert response.status_code == 200 and 'id="callback-error"' in response.content.decode()
    assert CallbackTask.objects.get().attempts == 0 and not CallRecord.objects.filter(direction="outbound").exists()


def test_taking_a_callback_puts_the_agents_name_on_it(world, console, missed):
    response = console(world.agent, language="en").post(reverse("console:callback_take", args=[missed.pk]), **HTMX)

    assert "The callback is yours." in response.content.decode()
    assert CallbackTask.objects.get().assignee == world.agent
    refused = console(world.agent2, language="en").post(reverse("console:callback_take", args=[missed.pk]), **HTMX)
    assert "Another agent has taken this callback." in refused.content.decode()


@pytest.mark.parametrize("role", ["technician", "vendor", "merchant"])
def test_other_roles_cannot_complete_a_callback(world, console, missed, role):
    response = console(world.users[role]).post(reverse("console:callback_complete", args=[missed.pk]),
                                               {"outcome": "reached"})

    assert response.status_code == 403
    assert CallbackTask.objects.get().status == "open"


def test_the_callback_queue_page_query_count_is_bounded(world, console, django_assert_max_num_queries):
    for n in range(10):
        call_event_record(call_id=f"CC-{n}", event="missed", caller="13812345678", at=MONDAY_1000)
    client = console(world.agent)
    client.get(QUEUE)

    with django_assert_max_num_queries(5):
        response = client.get(QUEUE)

    assert response.status_code == 200 and response.content.decode().count('data-status="open"') == 10


# --- the contact panel on the ticket page ---------------------------------------------------------


def test_the_ticket_page_loads_the_contact_panel_for_the_desk_only(world, console, ticket):
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.technician)

    desk = console(world.agent).get(reverse("console:ticket", args=[ticket.pk])).content.decode()
    field = console(world.technician).get(reverse("console:ticket", args=[ticket.pk])).content.decode()

    assert f'hx-get="{panel_url(ticket)}"' in desk
    assert 'id="contact-panel"' not in field


def test_the_panel_tells_the_last_contact_and_that_a_call_is_allowed_now(world, console, ticket):
    body = console(world.agent, language="en").get(panel_url(ticket), **HTMX).content.decode()

    assert body.lstrip().startswith('<section class="card side-card" id="contact-panel">')
    assert "Last contacted 2026-11-23 10:00 (SMS), 1 time this week" in body  # the ticket's acknowledgement
    assert 'data-outcome="allow"' in body and "A follow-up call is allowed now." in body


def test_after_two_logged_calls_the_panel_says_not_before_tomorrow(world, console, ticket):
    for outcome in ("no_answer", "busy"):
        call_log_outbound(agent=world.agent, merchant=world.merchant, ticket=ticket, outcome=outcome)

    body = console(world.agent, language="en").get(panel_url(ticket), **HTMX).content.decode()

    assert "3 times this week" in body
    assert 'data-outcome="defer"' in body and "Do not call before 11-24 10:00." in body
    assert "Contacted as often as the rules allow in this period." in body
    assert "138****5678" in body and "13812345678" not in body  # the calls on this ticket, masked


def test_a_do_not_disturb_merchant_is_shown_as_denied(world, console, ticket):
    from posdesk.contact.services import contact_do_not_disturb_set

    contact_do_not_disturb_set(merchant=world.merchant, on=True, actor=world.merchant_user)

    body = console(world.agent, language="en").get(panel_url(ticket), **HTMX).content.decode()

    assert 'data-outcome="deny"' in body and "The merchant asked not to be disturbed." in body


def test_logging_a_call_with_htmx_answers_the_refreshed_panel(world, console, ticket):
    response = console(world.agent, language="en").post(call_url(ticket), {"outcome": "reached", "note": "已恢复"},
                                                         **HTMX)

    body = response.content.decode()
    assert response.status_code == 200 and "Call logged." in body and "已恢复" in body
    call = CallRecord.objects.get()
    assert (call.ticket, call.agent, call.outcome, call.mobile) == (ticket, world.agent, "reached", "13812345678")
    assert ContactDecision.objects.filter(purpose="service_follow_up", contacted=True).count() == 1


def test_logging_a_call_without_javascript_redirects_to_the_ticket(world, console, ticket):
    response = console(world.agent).post(call_url(ticket), {"outcome": "voicemail"})

    assert response.status_code == 302 and response["Location"] == reverse("console:ticket", args=[ticket.pk])
    assert CallRecord.objects.count() == 1


def test_a_bad_number_is_shown_on_the_form_and_nothing_is_logged(world, console, ticket):
    response = console(world.agent, language="en").post(call_url(ticket), {"outcome": "reached", "mobile": "abc"})

    assert response.status_code == 422 and "Give the number that was called." in response.content.decode()
    assert not CallRecord.objects.exists()


def test_the_panel_works_as_a_page_without_javascript(world, console, ticket):
    response = console(world.agent, language="en").get(panel_url(ticket))

    assert response.status_code == 200 and "<html" in response.content.decode()
    assert "Log an outbound call" in response.content.decode()


@pytest.mark.parametrize("role, expected", [("technician", 403), ("merchant", 403), ("vendor", 404)])
def test_other_roles_get_no_contact_panel_and_log_no_call(world, console, ticket, role, expected):
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.technician)
    client = console(world.users[role])

    assert client.get(panel_url(ticket)).status_code == expected
    assert client.post(call_url(ticket), {"outcome": "reached"}).status_code == expected
    assert not CallRecord.objects.exists()


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_every_desk_role_sees_the_panel(world, console, ticket, role):
    assert console(world.users[role]).get(panel_url(ticket), **HTMX).status_code == 200


def test_the_panel_query_count_is_bounded(world, console, ticket, django_assert_max_num_queries):
    for outcome in ("no_answer", "busy"):
        call_log_outbound(agent=world.agent, merchant=world.merchant, ticket=ticket, outcome=outcome)
    client = console(world.agent)
    client.get(panel_url(ticket), **HTMX)

    with django_assert_max_num_queries(10):
        assert client.get(panel_url(ticket), **HTMX).status_code == 200
