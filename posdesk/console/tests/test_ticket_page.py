"""The ticket page: what it shows, each action with and without htmx, errors inline, access."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from posdesk.console.tests.conftest import HTMX
from posdesk.tickets.models import Ticket, TicketAttachment, TicketEvent
from posdesk.tickets.services import ticket_add_note, ticket_assign, ticket_reply, ticket_transition


def page_url(ticket: Ticket) -> str:
    return reverse("console:ticket", args=[ticket.pk])


def action_url(name: str, ticket: Ticket) -> str:
    return reverse(f"console:ticket_{name}", args=[ticket.pk])


def png(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def ticket(world, open_ticket):
    return open_ticket(
        terminal=world.terminal, category="hardware", priority="P2", text="刷卡没反应\n屏幕显示A0"
    )


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# --- what the page shows --------------------------------------------------------------------


def test_agent_sees_header_timeline_merchant_and_terminal_context(world, console, ticket, open_ticket):
    earlier = open_ticket(terminal=world.terminal, category="hardware", text="上周也坏过")
    ticket_add_note(ticket=ticket, actor=world.agent, body="疑似读卡器故障")

    body = console(world.agent, language="en").get(page_url(ticket)).content.decode()

    assert ticket.number in body
    assert 'class="badge status-new"' in body
    assert "疑似读卡器故障" in body and "internal" in body
    assert world.merchant.name in body and world.merchant.mid in body
    assert "138****5678" in body and "13812345678" not in body  # masked until revealed
    assert world.terminal.sn in body and world.terminal.tid in body
    assert earlier.number in body  # the terminal's other tickets


def test_ticket_page_shows_the_repeat_fault_count(world, console, open_ticket):
    open_ticket(terminal=world.terminal, category="hardware", text="第一次")
    open_ticket(terminal=world.terminal, category="hardware", text="第二次")
    current = open_ticket(terminal=world.terminal, category="hardware", text="第三次")

    body = console(world.agent, language="en").get(page_url(current)).content.decode()

    assert "2 earlier tickets of the same category in 30 days" in body


def test_page_has_the_stable_control_ids_browser_tests_use(world, console, ticket):
    body = console(world.agent).get(page_url(ticket)).content.decode()

    for marker in (
        'id="reply-form"',
        'id="transition-form"',
        'name="to_status"',
        'id="assign-form"',
        'name="assignee"',
        'id="note-form"',
        'id="ticket-workspace"',
    ):
        assert marker in body
    assert '<textarea name="body"' in body


def test_transition_select_offers_only_the_moves_the_role_may_make(world, console, ticket):
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.technician)
    ticket_transition(ticket=ticket, actor=world.agent, to_status="in_progress")

    body = console(world.technician).get(page_url(ticket)).content.decode()
    select = body.split('name="to_status"')[1].split("</select>")[0]

    assert 'value="onsite_scheduled"' in select and 'value="pending_acceptance"' in select
    assert 'value="resolved"' not in select and 'value="cancelled"' not in select


def test_technician_cannot_open_another_technicians_ticket(world, console, ticket):
    other = world.technician.__class__.objects.create(username="tech2", role="technician")
    ticket_assign(ticket=ticket, actor=world.agent, assignee=other)
    client = console(world.technician)

    assert client.get(page_url(ticket)).status_code == 404
    assert client.post(action_url("reply", ticket), {"body": "hi"}).status_code == 404
    assert not TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.REPLY).exists()


def test_vendor_sees_only_tickets_given_to_its_organisation(world, console, ticket):
    client = console(world.vendor)
    assert client.get(page_url(ticket)).status_code == 404

    ticket_assign(ticket=ticket, actor=world.agent, vendor=world.vendor_org)

    assert client.get(page_url(ticket)).status_code == 200


def test_ticket_page_query_count_is_bounded(world, console, ticket, django_assert_max_num_queries):
    for i in range(10):
        ticket_reply(ticket=ticket, actor=world.agent, body=f"回复 {i}", attachments=[])
        ticket_add_note(ticket=ticket, actor=world.agent2, body=f"备注 {i}")
    client = console(world.agent)
    client.get(page_url(ticket))

    with django_assert_max_num_queries(12):
        response = client.get(page_url(ticket))

    assert response.status_code == 200


# --- reply and note -------------------------------------------------------------------------


def test_reply_via_htmx_returns_the_updated_workspace(world, console, ticket):
    response = console(world.agent, language="en").post(
        action_url("reply", ticket), {"body": "请重启机器"}, **HTMX
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="ticket-workspace"')
    assert "请重启机器" in body and "Reply sent." in body
    assert reload(ticket).status == "in_progress"  # a staff reply starts work on a new ticket
    assert reload(ticket).first_response_at is not None


def test_reply_without_htmx_redirects_back_to_the_ticket(world, console, ticket):
    response = console(world.agent).post(action_url("reply", ticket), {"body": "请重启机器"})

    assert response.status_code == 302
    assert response["Location"] == page_url(ticket)
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.REPLY, body="请重启机器").exists()


def test_reply_with_a_photo_stores_it_and_shows_a_thumbnail(world, console, ticket):
    response = console(world.agent).post(
        action_url("reply", ticket), {"body": "看图", "files": [png()]}, **HTMX
    )

    attachment = TicketAttachment.objects.get(ticket=ticket)
    assert attachment.content_type == "image/png" and attachment.is_public
    assert f'<img src="/attachments/{attachment.pk}"' in response.content.decode()


def test_reply_with_a_wrong_file_type_shows_the_error_and_changes_nothing(world, console, ticket):
    fake = SimpleUploadedFile("virus.png", b"MZ not an image at all", content_type="image/png")

    response = console(world.agent, language="en").post(
        action_url("reply", ticket), {"body": "看附件", "files": [fake]}, **HTMX
    )

    assert "is not an accepted type" in response.content.decode()
    assert "看附件" in response.content.decode()  # the typed text is kept
    assert not TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.REPLY).exists()
    assert reload(ticket).status == "new"


def test_empty_reply_is_refused_inline(world, console, ticket):
    response = console(world.agent, language="en").post(action_url("reply", ticket), {"body": "  "}, **HTMX)

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.REPLY).exists()


def test_empty_reply_without_htmx_shows_the_whole_page_with_the_error(world, console, ticket):
    response = console(world.agent, language="en").post(action_url("reply", ticket), {"body": ""})

    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert "This field is required." in response.content.decode()


def test_internal_note_is_added_as_a_private_event(world, console, ticket):
    response = console(world.agent).post(action_url("note", ticket), {"body": "需要换读卡模块"}, **HTMX)

    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.NOTE)
    assert not event.is_public and event.body == "需要换读卡模块"
    assert 'class="kind-note internal' in response.content.decode()


def test_note_without_htmx_redirects_back(world, console, ticket):
    response = console(world.agent).post(action_url("note", ticket), {"body": "内部备注"})

    assert response["Location"] == page_url(ticket)
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.NOTE).count() == 1


# --- transitions ----------------------------------------------------------------------------


def test_transition_via_htmx_changes_status_and_records_the_reason(world, console, ticket):
    response = console(world.agent).post(
        action_url("transition", ticket), {"to_status": "onsite_scheduled", "reason": "约明早上门"}, **HTMX
    )

    assert reload(ticket).status == "onsite_scheduled"
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.STATUS_CHANGED)
    assert (event.from_status, event.to_status, event.reason, event.actor) == (
        "new",
        "onsite_scheduled",
        "约明早上门",
        world.agent,
    )
    assert 'id="ticket-status">' in response.content.decode()
    assert 'data-status="onsite_scheduled"' in response.content.decode()


def test_transition_without_htmx_redirects_back(world, console, ticket):
    response = console(world.agent).post(action_url("transition", ticket), {"to_status": "triaged"})

    assert response["Location"] == page_url(ticket)
    assert reload(ticket).status == "triaged"


def test_illegal_transition_shows_the_error_and_changes_nothing(world, console, ticket):
    before = reload(ticket)

    response = console(world.agent, language="en").post(
        action_url("transition", ticket), {"to_status": "closed"}, **HTMX
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "A ticket cannot go from “New” to “Closed”." in body
    after = reload(ticket)
    assert (after.status, after.updated_at) == ("new", before.updated_at)
    assert not TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.STATUS_CHANGED).exists()


def test_illegal_transition_without_htmx_answers_422_with_the_error(world, console, ticket):
    response = console(world.agent, language="en").post(
        action_url("transition", ticket), {"to_status": "closed"}
    )

    assert response.status_code == 422
    assert "cannot go from" in response.content.decode()
    assert reload(ticket).status == "new"


def test_cancel_without_a_reason_asks_for_one(world, console, ticket):
    response = console(world.agent, language="en").post(
        action_url("transition", ticket), {"to_status": "cancelled", "reason": ""}, **HTMX
    )

    assert "Please give a reason for this change." in response.content.decode()
    assert reload(ticket).status == "new"


def test_technician_may_not_resolve_directly(world, console, ticket):
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.technician)
    ticket_transition(ticket=ticket, actor=world.agent, to_status="in_progress")

    response = console(world.technician, language="en").post(
        action_url("transition", ticket), {"to_status": "resolved"}, **HTMX
    )

    assert "Your role may not make this change." in response.content.decode()
    assert reload(ticket).status == "in_progress"


def test_transition_error_is_shown_in_chinese_for_a_chinese_session(world, console, ticket):
    response = console(world.agent, language="zh-hans").post(
        action_url("transition", ticket), {"to_status": "closed"}, **HTMX
    )

    assert 'id="ticket-workspace"' in response.content.decode()
    assert reload(ticket).status == "new"


# --- assignment, classification, merge ---------------------------------------------------------


def test_assign_via_htmx_sets_assignee_team_and_vendor(world, console, ticket):
    response = console(world.agent, language="en").post(
        action_url("assign", ticket),
        {"assignee": world.agent2.pk, "team": world.team.pk, "vendor": world.vendor_org.pk},
        **HTMX,
    )

    after = reload(ticket)
    assert (after.assignee, after.team, after.vendor) == (world.agent2, world.team, world.vendor_org)
    assert "Assignment saved." in response.content.decode()


def test_assign_without_htmx_redirects_back(world, console, ticket):
    response = console(world.agent).post(
        action_url("assign", ticket), {"assignee": world.agent.pk, "team": ""}
    )

    assert response["Location"] == page_url(ticket)
    assert reload(ticket).assignee == world.agent


def test_assigning_a_vendors_staff_without_the_vendor_is_refused_inline(world, console, ticket):
    response = console(world.agent, language="en").post(
        action_url("assign", ticket), {"assignee": world.vendor_tech.pk, "team": "", "vendor": ""}, **HTMX
    )

    assert "A vendor&#x27;s staff can only work tickets given to their vendor." in response.content.decode()
    assert reload(ticket).assignee is None


def test_vendor_hands_its_ticket_to_its_own_technician(world, console, ticket):
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.agent2, vendor=world.vendor_org)
    client = console(world.vendor)
    page = client.get(page_url(ticket)).content.decode()

    client.post(action_url("assign", ticket), {"assignee": world.vendor_tech.pk, "team": ""}, **HTMX)

    assert 'name="vendor"' not in page  # only the desk gives work to a vendor
    assert reload(ticket).assignee == world.vendor_tech


def test_technician_sees_no_assign_form_and_cannot_assign(world, console, ticket):
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.technician)
    client = console(world.technician, language="en")

    page = client.get(page_url(ticket)).content.decode()
    response = client.post(action_url("assign", ticket), {"assignee": "", "team": ""}, **HTMX)

    assert 'id="assign-form"' not in page
    assert "You are not allowed to do this." in response.content.decode()
    assert reload(ticket).assignee == world.technician


def test_agent_corrects_category_and_priority(world, console, ticket):
    console(world.agent).post(
        action_url("classify", ticket), {"category": "network", "priority": "P1"}, **HTMX
    )

    after = reload(ticket)
    assert (after.category, after.priority) == ("network", "P1")
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.FIELDS_CHANGED).exists()


def test_technician_cannot_classify(world, console, ticket):
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.technician)

    response = console(world.technician, language="en").post(
        action_url("classify", ticket), {"category": "network", "priority": "P1"}, **HTMX
    )

    assert "You are not allowed to do this." in response.content.decode()
    assert reload(ticket).category == "hardware"


def test_agent_merges_a_duplicate_into_the_original(world, console, ticket, open_ticket):
    duplicate = open_ticket(text="又坏了，还是刷卡没反应")

    response = console(world.agent, language="en").post(
        action_url("merge", duplicate), {"original": ticket.number.lower(), "reason": "重复报修"}, **HTMX
    )

    after = reload(duplicate)
    assert (after.status, after.merged_into_id) == ("closed", ticket.pk)
    assert f"Merged into {ticket.number}." in response.content.decode()


def test_merge_into_an_unknown_number_is_refused_on_the_field(world, console, ticket):
    response = console(world.agent, language="en").post(
        action_url("merge", ticket), {"original": "T9901010001"}, **HTMX
    )

    assert "No such ticket, or it is not yours to see." in response.content.decode()
    assert reload(ticket).status == "new"


def test_merge_of_another_merchants_ticket_is_refused(world, console, ticket, open_ticket):
    other = open_ticket(merchant=world.other_merchant)

    response = console(world.agent, language="en").post(
        action_url("merge", ticket), {"original": other.number}, **HTMX
    )

    assert "Only tickets of the same merchant can be merged." in response.content.decode()
    assert reload(ticket).merged_into_id is None


def test_classify_without_htmx_redirects_back(world, console, ticket):
    response = console(world.agent).post(
        action_url("classify", ticket), {"category": "network", "priority": "P2"}
    )

    assert response["Location"] == page_url(ticket)
    assert reload(ticket).category == "network"


def test_merge_without_htmx_redirects_back_to_the_closed_duplicate(world, console, ticket, open_ticket):
    duplicate = open_ticket(text="重复")

    response = console(world.agent).post(action_url("merge", duplicate), {"original": ticket.number})

    assert response["Location"] == page_url(duplicate)
    assert reload(duplicate).merged_into_id == ticket.pk
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.MERGED).exists()


def test_timeline_shows_status_changes_with_their_reason_and_the_assignment(world, console, ticket):
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.agent2, team=world.team)
    ticket_transition(ticket=ticket, actor=world.agent, to_status="cancelled", reason="商户自行解决")

    body = console(world.agent, language="en").get(page_url(ticket)).content.decode()

    assert "商户自行解决" in body
    assert 'class="badge status-cancelled"' in body
    assert "Assignee: 李坐席" in body
    assert 'id="reply-form"' not in body  # closed to replies


def test_merchant_never_sees_internal_notes_through_the_console(world, console, ticket):
    ticket_add_note(ticket=ticket, actor=world.agent, body="内部：商户脾气急")

    response = console(world.merchant_user).get(page_url(ticket))

    assert response.status_code == 403
    assert "内部：商户脾气急" not in response.content.decode()
