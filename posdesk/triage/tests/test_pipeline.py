"""The intake pipeline: every new ticket, on every channel, is triaged after its commit — category and
priority applied, merchant and terminal linked from what the text proves, a possible duplicate
flagged, the record stored once — and then routed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from posdesk.accounts.models import Role
from posdesk.core.taxonomy import Category, Priority, Status
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.tickets.services import ticket_classify, ticket_open, ticket_open_from_channel
from posdesk.triage import pipeline
from posdesk.triage.models import TriageRecord
from posdesk.triage.pipeline import (
    TRIAGE_ACTOR_USERNAME,
    tickets_triage,
    tickets_triage_new,
    tickets_triage_sweep,
)

MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def monday(time_machine: Any) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)


def events_by_triage(ticket: Ticket) -> list[TicketEvent]:
    """Triage's one event on a ticket: status new → triaged, with the category and priority it set."""
    return list(ticket.events.filter(actor__username=TRIAGE_ACTOR_USERNAME))


@pytest.mark.parametrize("channel", ["api", "portal", "email", "wechat", "sms", "phone"])
def test_a_ticket_opened_on_any_channel_is_triaged_after_its_commit(
    world: Any, monday: None, channel: str, django_capture_on_commit_callbacks: Any
) -> None:
    # given a merchant reporting a printer fault on this channel
    with django_capture_on_commit_callbacks(execute=True):
        if channel == "api":
            ticket = ticket_open(
                actor=world.agent, merchant=world.merchant, text="打印机不出纸了", channel="api"
            )
        elif channel == "portal":
            ticket = ticket_open(
                actor=world.merchant_user, merchant=world.merchant, text="打印机不出纸了", channel="portal"
            )
        else:
            ticket = ticket_open_from_channel(channel=channel, text="打印机不出纸了", merchant=world.merchant)

    # then the commit started triage: category and priority applied, the record stored, status triaged
    ticket.refresh_from_db()
    record = TriageRecord.objects.get(ticket=ticket)
    assert (record.category, ticket.category) == (Category.HARDWARE, Category.HARDWARE)
    assert ticket.priority == record.priority == Priority.P2
    assert ticket.status == Status.TRIAGED
    assert 0.5 < record.category_confidence <= 1.0 and record.model_version
    [event] = events_by_triage(ticket)
    assert (event.kind, event.to_status) == (TicketEvent.Kind.STATUS_CHANGED, Status.TRIAGED)
    assert event.data["changes"]["category"] == [Category.CONSULTATION, Category.HARDWARE]


def test_triage_runs_after_routing_would_have_and_routing_sees_the_triaged_category(
    world: Any, monday: None, django_capture_on_commit_callbacks: Any
) -> None:
    # given a hardware team whose skills are hardware only, with an agent online
    from posdesk.routing.models import TeamSkills
    from posdesk.routing.services import agent_presence_set
    from tests import factories as f

    hardware = f.TeamFactory(code="hardware-desk", name="硬件组")
    hardware.members.add(world.agent2)
    TeamSkills.objects.create(team=hardware, categories=[Category.HARDWARE])
    agent_presence_set(user=world.agent2, presence="online", actor=world.agent2)

    # when a printer fault comes in (it opens as consultation until triage)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_open(
            actor=world.merchant_user, merchant=world.merchant, text="打印机不出纸了", channel="portal"
        )

    # then routing ran after triage and gave it to the hardware team
    ticket.refresh_from_db()
    assert ticket.category == Category.HARDWARE
    assert ticket.team_id == hardware.pk and ticket.assignee_id == world.agent2.pk


def test_a_p1_message_is_raised_to_p1_and_its_deadlines_follow(
    world: Any, monday: None, open_ticket: Any
) -> None:
    ticket = open_ticket(text="机器黑屏了，完全收不了款，着急！", channel="api")
    due_before = ticket.resolution_due_at

    tickets_triage(ticket_ids=[ticket.pk])

    ticket.refresh_from_db()
    assert ticket.priority == Priority.P1
    assert (
        ticket.resolution_due_at is not None
        and due_before is not None
        and ticket.resolution_due_at < due_before
    )


def test_a_ticket_is_triaged_once_however_often_the_pipeline_runs(
    world: Any, monday: None, open_ticket: Any
) -> None:
    ticket = open_ticket(text="打印机不出纸了", channel="api")

    first = tickets_triage(ticket_ids=[ticket.pk])
    second = tickets_triage(ticket_ids=[ticket.pk])
    swept = tickets_triage_sweep()

    assert (len(first.triaged), len(second.triaged), len(swept.triaged)) == (1, 0, 0)
    assert second.skipped == 1
    assert TriageRecord.objects.filter(ticket=ticket).count() == 1
    assert len(events_by_triage(ticket)) == 1
    assert ticket.events.filter(kind=TicketEvent.Kind.STATUS_CHANGED, to_status=Status.TRIAGED).count() == 1


def test_the_job_finds_new_untriaged_tickets_and_the_sweep_finds_those_moved_on_before_triage(
    world: Any, monday: None, open_ticket: Any
) -> None:
    # given one new ticket and one an agent already took into work before triage ran
    waiting = open_ticket(text="打印机不出纸了", channel="api")
    moved = open_ticket(text="签到失败，提示密钥错误", channel="api")
    Ticket.objects.filter(pk=moved.pk).update(status=Status.IN_PROGRESS)

    # when the commit-started job runs, then the minute sweep
    job = tickets_triage_new()
    sweep = tickets_triage_sweep()

    # then the job triaged the new one and the sweep the other
    assert job.triaged == [waiting.pk]
    assert sweep.triaged == [moved.pk]
    moved.refresh_from_db()
    assert moved.status == Status.IN_PROGRESS  # triage moves only new tickets to triaged


def test_a_field_a_person_already_chose_is_not_overridden(world: Any, monday: None, open_ticket: Any) -> None:
    # given a ticket the agent opened as a network problem, and one whose priority an agent set before triage ran
    chosen_at_open = open_ticket(text="打印机不出纸了", channel="api", category=Category.NETWORK)
    chosen_later = open_ticket(text="打印机不出纸了", channel="api")
    ticket_classify(
        ticket=chosen_later, actor=world.agent, priority=Priority.P3
    )  # no change: P3 is the default
    ticket_classify(ticket=chosen_later, actor=world.agent, priority=Priority.P4)

    tickets_triage(ticket_ids=[chosen_at_open.pk, chosen_later.pk])

    # then triage's suggestion is recorded but the people's choices stand
    chosen_at_open.refresh_from_db()
    chosen_later.refresh_from_db()
    assert chosen_at_open.category == Category.NETWORK
    assert TriageRecord.objects.get(ticket=chosen_at_open).category == Category.HARDWARE
    assert chosen_later.priority == Priority.P4 and chosen_later.category == Category.HARDWARE


def test_an_unidentified_email_that_names_its_mid_is_linked_to_that_merchant(
    world: Any, monday: None
) -> None:
    ticket = ticket_open_from_channel(
        channel="email", text=f"商户号 {world.merchant.mid}，签到失败", merchant=None
    )

    outcome = tickets_triage(ticket_ids=[ticket.pk])

    ticket.refresh_from_db()
    assert outcome.identified == 1
    assert ticket.merchant_id == world.merchant.pk and ticket.district_id == world.merchant.district_id
    assert TriageRecord.objects.get(ticket=ticket).applied["identified"]["merchant"] == world.merchant.pk


def test_a_wechat_text_with_the_sn_links_the_terminal_and_its_merchant(world: Any, monday: None) -> None:
    known = ticket_open_from_channel(
        channel="wechat", text=f"{world.terminal.sn} 刷卡没反应", merchant=world.merchant
    )
    unknown = ticket_open_from_channel(
        channel="wechat", text=f"{world.terminal.sn} 刷卡没反应", merchant=None
    )

    tickets_triage(ticket_ids=[known.pk, unknown.pk])

    for ticket in (known, unknown):
        ticket.refresh_from_db()
        assert (ticket.merchant_id, ticket.terminal_id) == (world.merchant.pk, world.terminal.pk)


@pytest.mark.parametrize(
    "text",
    [
        "商户号 898330160120021 和 898330160120099 都刷不了卡",  # two merchants
        "商户号 898330160120021，机器 PAXS900000002 坏了",  # a MID and another merchant's terminal
        "商户号 898330169999999 签到失败",  # no such merchant
        "我的手机 13812345678，机器坏了",  # a mobile proves nothing: anyone can write anyone's number
    ],
)
def test_identifiers_that_prove_no_single_merchant_link_nothing(world: Any, monday: None, text: str) -> None:
    ticket = ticket_open_from_channel(channel="email", text=text, merchant=None)

    tickets_triage(ticket_ids=[ticket.pk])

    ticket.refresh_from_db()
    assert ticket.merchant_id is None and ticket.terminal_id is None


def test_another_merchants_terminal_is_not_linked_to_a_known_ticket(world: Any, monday: None) -> None:
    ticket = ticket_open_from_channel(
        channel="wechat", text=f"{world.other_terminal.sn} 刷卡没反应", merchant=world.merchant
    )

    tickets_triage(ticket_ids=[ticket.pk])

    ticket.refresh_from_db()
    assert ticket.merchant_id == world.merchant.pk and ticket.terminal_id is None


def test_an_open_ticket_of_the_same_merchant_with_similar_words_is_a_possible_duplicate(
    world: Any, monday: None, open_ticket: Any
) -> None:
    # given an open printer ticket of this merchant, one of another merchant, and one of another fault
    original = open_ticket(text="打印机不出纸", channel="api")
    open_ticket(merchant=world.other_merchant, text="打印机不出纸", channel="api")
    other_fault = open_ticket(text="押金什么时候退给我", channel="api")
    tickets_triage(ticket_ids=[original.pk, other_fault.pk])

    # when the merchant reports the printer again, and another merchant does too
    again = open_ticket(text="打印机又不出纸了", channel="api")
    elsewhere = open_ticket(merchant=world.other_merchant, text="押金什么时候退给我", channel="api")
    tickets_triage(ticket_ids=[again.pk, elsewhere.pk])

    # then only the same merchant's same fault is flagged
    record = TriageRecord.objects.get(ticket=again)
    assert record.possible_duplicate_id == original.pk and record.duplicate_score >= 0.6
    assert TriageRecord.objects.get(ticket=original).possible_duplicate_id is None
    assert TriageRecord.objects.get(ticket=elsewhere).possible_duplicate_id is None


def test_a_closed_ticket_is_not_a_duplicate(world: Any, monday: None, open_ticket: Any) -> None:
    original = open_ticket(text="打印机不出纸", channel="api")
    Ticket.objects.filter(pk=original.pk).update(status=Status.CLOSED)
    again = open_ticket(text="打印机不出纸", channel="api")

    tickets_triage(ticket_ids=[again.pk])

    assert TriageRecord.objects.get(ticket=again).possible_duplicate_id is None


def test_the_triage_actor_is_a_desk_role_nobody_can_sign_in_as(world: Any) -> None:
    actor = pipeline.triage_actor()
    assert actor.role == Role.AGENT and not actor.is_active and not actor.has_usable_password()
    assert pipeline.triage_actor().pk == actor.pk


def test_a_batch_reads_with_a_bounded_number_of_queries_per_ticket(
    world: Any, monday: None, open_ticket: Any, django_assert_max_num_queries: Any, monkeypatch: Any
) -> None:
    tickets = [open_ticket(text=f"打印机不出纸 第{i}台", channel="api") for i in range(10)]
    pipeline.triage_actor()
    monkeypatch.setattr(
        pipeline, "routing_kick", lambda: None
    )  # routing's queries are counted by its own tests
    with django_assert_max_num_queries(10 * 40 + 30):
        outcome = tickets_triage(ticket_ids=[t.pk for t in tickets])
    assert len(outcome.triaged) == 10
