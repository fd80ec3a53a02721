"""Service standards on tickets: the promise made when a ticket opens, kept on the China working-day
calendar, paused while the ticket waits on the merchant, and moved when the priority changes."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from posdesk.core.taxonomy import Category, Priority, Status
from posdesk.merchants.models import Merchant
from posdesk.slas.models import BusinessCalendar, HolidayEntry, SlaPolicy, TeamCalendar
from posdesk.slas.selectors import sla_config_changed
from posdesk.tickets.services import ticket_assign, ticket_classify, ticket_reply, ticket_transition
from posdesk.tickets.sla import sla_state

SH = timezone(timedelta(hours=8))


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_p2_opened_friday_evening_before_national_day_is_due_on_the_adjusted_working_sunday(
    world, open_ticket, time_machine
):
    # given 2025's National Day week, whose adjusted working day (调休) is Sunday 28 September
    time_machine.move_to(at(2025, 9, 26, 17, 50), tick=False)
    # when a P2 is opened at 17:50 on the Friday before it (30 business minutes to first response)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    # then 10 minutes count on Friday and 20 on the next working day
    assert ticket.first_response_due_at == at(2025, 9, 28, 9, 20)
    assert ticket.resolution_due_at == at(2025, 9, 28, 17, 50)  # one business day of 8 hours
    assert ticket.sla_policy.priority == Priority.P2
    assert ticket.sla_due_at == ticket.first_response_due_at


def test_without_an_adjusted_weekend_day_the_deadline_falls_after_the_holiday(world, open_ticket, time_machine):
    # 2026: Wednesday 30 September is the last working day; the holiday runs to 7 October
    time_machine.move_to(at(2026, 9, 30, 17, 50), tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    assert ticket.first_response_due_at == at(2026, 10, 8, 9, 20)


def test_p1_runs_around_the_clock_through_the_holiday(world, open_ticket, time_machine):
    time_machine.move_to(at(2026, 10, 1, 23, 50), tick=False)
    ticket = open_ticket(priority=Priority.P1, category=Category.HARDWARE)
    assert ticket.first_response_due_at == at(2026, 10, 2, 0, 5)
    assert ticket.resolution_due_at == at(2026, 10, 2, 3, 50)


def test_the_most_specific_policy_wins(world, open_ticket, time_machine):
    time_machine.move_to(at(2026, 11, 23, 10, 0), tick=False)  # a Monday
    complaint = open_ticket(priority=Priority.P3, category=Category.SERVICE_COMPLAINT)
    assert complaint.sla_policy.category == Category.SERVICE_COMPLAINT
    assert complaint.first_response_due_at == at(2026, 11, 23, 10, 15)

    Merchant.objects.filter(pk=world.merchant.pk).update(tier=Merchant.Tier.KEY)
    world.merchant.refresh_from_db()
    key_account = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    assert (key_account.sla_policy.priority, key_account.sla_policy.merchant_tier) == ("P2", "key")
    assert key_account.first_response_due_at == at(2026, 11, 23, 10, 15)


def test_the_first_staff_reply_meets_the_first_response_and_the_countdown_moves_to_resolution(
    world, open_ticket, time_machine
):
    time_machine.move_to(at(2026, 11, 23, 10, 0), tick=False)
    ticket = open_ticket(priority=Priority.P3, category=Category.HARDWARE)
    time_machine.move_to(at(2026, 11, 23, 10, 30), tick=False)
    ticket_reply(ticket=ticket, actor=world.agent, body="您好，请重启终端后再试。")
    ticket.refresh_from_db()
    assert ticket.first_response_at == at(2026, 11, 23, 10, 30)
    assert ticket.first_response_at <= ticket.first_response_due_at
    assert ticket.sla_due_at == ticket.resolution_due_at == at(2026, 11, 26, 10, 0)


def test_time_waiting_on_the_merchant_does_not_count(world, open_ticket, time_machine):
    # given a P3 opened on Monday 10:00 (resolution: 3 business days → Thursday 10:00)
    time_machine.move_to(at(2026, 11, 23, 10, 0), tick=False)
    ticket = open_ticket(priority=Priority.P3, category=Category.HARDWARE)
    ticket_reply(ticket=ticket, actor=world.agent, body="请提供终端背面的 SN 照片。")
    # when it waits on the merchant from 11:00 to 14:00 (two business hours: lunch does not count)
    time_machine.move_to(at(2026, 11, 23, 11, 0), tick=False)
    ticket_transition(ticket=ticket, actor=world.agent, to_status=Status.WAITING_MERCHANT)
    ticket.refresh_from_db()
    assert sla_state(ticket, at(2026, 11, 23, 12, 0)) == "paused"
    assert ticket.sla_due_at is None and ticket.sla_next_check_at is None
    time_machine.move_to(at(2026, 11, 23, 14, 0), tick=False)
    ticket_transition(ticket=ticket, actor=world.agent, to_status=Status.IN_PROGRESS)
    # then the deadline moves by exactly those two business hours
    ticket.refresh_from_db()
    assert ticket.sla_paused_seconds == 2 * 3600
    assert ticket.resolution_due_at == at(2026, 11, 26, 12, 0)
    assert ticket.sla_due_at == ticket.resolution_due_at


def test_a_higher_priority_moves_the_deadlines_forward(world, open_ticket, time_machine):
    time_machine.move_to(at(2026, 11, 23, 10, 0), tick=False)
    ticket = open_ticket(priority=Priority.P3, category=Category.HARDWARE)
    time_machine.move_to(at(2026, 11, 23, 10, 5), tick=False)
    ticket_classify(ticket=ticket, actor=world.agent, priority=Priority.P1)
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == at(2026, 11, 23, 10, 15)  # counted from the opening
    assert ticket.resolution_due_at == at(2026, 11, 23, 14, 0)


def test_a_team_works_on_its_own_hours(world, open_ticket, time_machine):
    # given a team that works 08:00-20:00 without a lunch break
    long_day = BusinessCalendar.objects.create(code="long-day", name="长班", working_hours="08:00-20:00")
    TeamCalendar.objects.create(team=world.team, calendar=long_day)
    sla_config_changed()
    time_machine.move_to(at(2026, 11, 23, 19, 50), tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    assert ticket.first_response_due_at == at(2026, 11, 24, 9, 30)  # standard hours: after 18:00
    # when the ticket is given to that team
    ticket_assign(ticket=ticket, actor=world.agent, team=world.team)
    ticket.refresh_from_db()
    # then its 30 minutes run 19:50-20:00 and 08:00-08:20 the next morning
    assert ticket.first_response_due_at == at(2026, 11, 24, 8, 20)


def test_the_onsite_clock_starts_when_a_visit_is_scheduled_and_stops_on_arrival(world, open_ticket, time_machine):
    time_machine.move_to(at(2026, 11, 23, 9, 0), tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    ticket_reply(ticket=ticket, actor=world.agent, body="安排工程师上门。")
    time_machine.move_to(at(2026, 11, 23, 10, 0), tick=False)
    ticket_transition(ticket=ticket, actor=world.agent, to_status=Status.ONSITE_SCHEDULED)
    ticket.refresh_from_db()
    assert ticket.onsite_requested_at == at(2026, 11, 23, 10, 0)
    assert ticket.onsite_due_at == at(2026, 11, 24, 10, 0)
    time_machine.move_to(at(2026, 11, 23, 15, 0), tick=False)
    ticket_transition(ticket=ticket, actor=world.agent, to_status=Status.ONSITE_IN_PROGRESS)
    ticket.refresh_from_db()
    assert ticket.onsite_arrived_at == at(2026, 11, 23, 15, 0)
    assert ticket.sla_due_at == ticket.resolution_due_at  # only the resolution clock runs on


def test_a_year_nobody_entered_counts_monday_to_friday_and_warns(world, open_ticket, time_machine, caplog):
    # 2027 is beyond the package and no admin has entered it yet
    caplog.set_level(logging.WARNING, logger="posdesk.slas")
    time_machine.move_to(at(2027, 1, 1, 17, 50), tick=False)  # a Friday
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    assert ticket.first_response_due_at == at(2027, 1, 4, 9, 20)  # Monday, not Saturday
    assert any("2027" in record.getMessage() for record in caplog.records)


def test_an_admins_entries_decide_a_year_the_package_does_not_know(world, open_ticket, time_machine):
    HolidayEntry.objects.create(day=datetime(2027, 1, 1).date(), is_workday=False, name="元旦")
    HolidayEntry.objects.create(day=datetime(2027, 1, 2).date(), is_workday=True, name="元旦调休")
    sla_config_changed()
    time_machine.move_to(at(2026, 12, 31, 17, 50), tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    assert ticket.first_response_due_at == at(2027, 1, 2, 9, 20)  # the adjusted working Saturday


def test_no_matching_policy_means_no_promise(world, open_ticket, time_machine):
    SlaPolicy.objects.update(is_active=False)
    sla_config_changed()
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    assert ticket.sla_policy is None and ticket.sla_due_at is None and ticket.sla_next_check_at is None


@pytest.mark.parametrize(("minutes_after", "state"), [(0, "on_track"), (22, "on_track"), (23, "at_risk"),
                                                      (31, "breached")])
def test_the_state_the_queue_shows_comes_from_stored_fields(world, open_ticket, time_machine, minutes_after,
                                                           state):
    time_machine.move_to(at(2026, 11, 23, 10, 0), tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)  # 30 minutes, at risk after 22.5
    assert sla_state(ticket, at(2026, 11, 23, 10, 0) + timedelta(minutes=minutes_after)) == state
