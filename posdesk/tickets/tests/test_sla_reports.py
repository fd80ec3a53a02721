"""The supervisor's SLA reports, the admin's calendar page and the calendar import command."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from posdesk.core.taxonomy import Category, Priority, Status
from posdesk.slas.models import HolidayEntry
from posdesk.tickets.services import ticket_assign, ticket_reply, ticket_transition
from posdesk.tickets.sla_reports import sla_attainment, sla_tickets_by_state

SH = timezone(timedelta(hours=8))
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)


@pytest.fixture
def week(world, open_ticket, time_machine):
    """Monday: a P2 answered in time and resolved in time (team frontline), a P2 answered late,
    and a P3 never answered; read on Wednesday."""
    time_machine.move_to(MONDAY_10, tick=False)
    on_time = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    late = open_ticket(priority=Priority.P2, category=Category.NETWORK)
    silent = open_ticket(priority=Priority.P3, category=Category.HARDWARE)
    for ticket in (on_time, late, silent):
        ticket_assign(ticket=ticket, actor=world.supervisor, team=world.team)
    time_machine.move_to(MONDAY_10 + timedelta(minutes=10), tick=False)
    ticket_reply(ticket=on_time, actor=world.agent, body="马上处理")
    ticket_transition(ticket=on_time, actor=world.agent, to_status=Status.RESOLVED)
    time_machine.move_to(MONDAY_10 + timedelta(hours=1), tick=False)
    ticket_reply(ticket=late, actor=world.agent, body="抱歉久等")
    time_machine.move_to(datetime(2026, 11, 25, 10, 0, tzinfo=SH), tick=False)
    return on_time, late, silent


def test_attainment_by_priority_counts_met_and_breached(world, week):
    rows = {r.group: r for r in sla_attainment(world.supervisor, start=date(2026, 11, 23), end=date(2026, 11, 25),
                                               group_by="priority")}
    p2, p3 = rows["P2"], rows["P3"]
    assert (p2.tickets, p2.first_response_met, p2.first_response_breached) == (2, 1, 1)
    assert p2.first_response_rate == 50.0
    # the resolved P2 met its day; the other P2's day (Tue 10:00) has passed unresolved
    assert (p2.resolution_met, p2.resolution_breached) == (1, 1)
    # the P3's two hours passed without an answer; its three days are not over
    assert (p3.first_response_met, p3.first_response_breached, p3.resolution_breached) == (0, 1, 0)
    assert p3.resolution_rate is None


def test_attainment_by_team_and_an_empty_period(world, week):
    rows = sla_attainment(world.admin, start=date(2026, 11, 23), end=date(2026, 11, 23), group_by="team")
    assert [(r.label, r.tickets) for r in rows] == [(world.team.name, 3)]
    assert sla_attainment(world.admin, start=date(2026, 10, 1), end=date(2026, 10, 2), group_by="team") == []


def test_at_risk_and_breached_lists(world, week, time_machine):
    breached = list(sla_tickets_by_state(world.supervisor, state="breached"))
    _on_time, late, silent = week
    # nearest deadline first: the P3's first response (Mon 12:00), then the P2's resolution (Tue 10:00)
    assert [t.pk for t in breached] == [silent.pk, late.pk]
    assert list(sla_tickets_by_state(world.supervisor, state="at_risk")) == []



def test_a_ticket_past_three_quarters_of_its_time_is_at_risk(world, open_ticket, time_machine):
    time_machine.move_to(MONDAY_10, tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    time_machine.move_to(MONDAY_10 + timedelta(minutes=20), tick=False)
    assert list(sla_tickets_by_state(world.supervisor, state="at_risk")) == []
    time_machine.move_to(MONDAY_10 + timedelta(minutes=25), tick=False)
    assert [t.pk for t in sla_tickets_by_state(world.supervisor, state="at_risk")] == [ticket.pk]


@pytest.mark.parametrize("role", ["agent", "technician", "vendor", "merchant_user"])
def test_only_supervisors_and_admins_read_the_reports(world, week, role):
    from posdesk.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        sla_attainment(getattr(world, role), start=date(2026, 11, 23), end=date(2026, 11, 25), group_by="team")


def test_the_report_api_answers_and_refuses_bad_input(world, week, api):
    client = api(world.supervisor, "en")
    body = client.get("/api/v1/sla/attainment?group_by=priority&start=2026-11-23&end=2026-11-25").json()
    assert [row["group"] for row in body["rows"]] == ["P2", "P3"]
    assert body["rows"][0]["first_response_rate"] == 50.0
    bad = client.get("/api/v1/sla/attainment?group_by=colour")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_group_by"
    too_long = client.get("/api/v1/sla/attainment?start=2024-01-01&end=2026-01-01")
    assert too_long.json()["code"] == "period_too_long"
    reversed_period = api(world.supervisor, "zh-hans").get("/api/v1/sla/attainment?start=2026-11-25&end=2026-11-23")
    assert reversed_period.status_code == 422 and reversed_period.json()["code"] == "invalid_period"
    assert client.get("/api/v1/sla/tickets?state=late").json()["code"] == "invalid_sla_state"
    rows = client.get("/api/v1/sla/tickets?state=breached").json()
    assert [(r["number"], r["sla_state"]) for r in rows] == [(week[2].number, "breached"), (week[1].number, "breached")]


def test_the_report_page_shows_attainment_and_the_lists(world, week, client):
    client.force_login(world.supervisor)
    page = client.get("/console/sla/?group_by=priority&start=2026-11-23&end=2026-11-25").content.decode()
    assert 'data-group="P2"' in page and "50.0%" in page
    assert week[1].number in page  # breached now


def test_an_admin_imports_a_year_and_the_warning_goes(world, client, time_machine):
    time_machine.move_to(MONDAY_10, tick=False)
    world.admin.save()
    client.force_login(world.admin)
    page = client.get("/console/settings/calendar/").content.decode()
    assert 'id="calendar-warning"' in page and "2027" in page
    answer = client.post("/console/settings/calendar/", {"lines": "2027-01-01,holiday,元旦\n2027-02-07,workday,调休"})
    assert answer.status_code == 302
    assert list(HolidayEntry.objects.values_list("day", "is_workday")) == [(date(2027, 1, 1), False),
                                                                        (date(2027, 2, 7), True)]
    assert 'id="calendar-warning"' not in client.get("/console/settings/calendar/").content.decode()


def test_a_bad_import_line_changes_nothing_and_says_which(world, client):
    client.force_login(world.admin)
    answer = client.post("/console/settings/calendar/", {"lines": "2027-01-01,holiday,元旦\n2027-13-01,holiday,坏"})
    assert answer.status_code == 200
    assert "2" in answer.content.decode().split('id="calendar-import-error"')[1][:300]
    assert not HolidayEntry.objects.exists()


def test_the_import_command_replaces_a_year_and_recomputes_open_tickets(world, open_ticket, time_machine, tmp_path):
    # given a P2 opened on New Year's Eve 2026 at 17:50, due (Mon–Fri fallback) Friday 1 January 09:20
    time_machine.move_to(datetime(2026, 12, 31, 17, 50, tzinfo=SH), tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    assert ticket.first_response_due_at == datetime(2027, 1, 1, 9, 20, tzinfo=SH)
    # when the admin imports 2027 with New Year's Day off and Saturday the 2nd as an adjusted working day
    schedule = tmp_path / "2027.csv"
    schedule.write_text("# 2027\n2027-01-01,休,元旦\n2027-01-02,班,元旦调休\n", encoding="utf-8")
    out = StringIO()
    call_command("calendar_import", str(schedule), stdout=out)
    # then the open ticket's deadline moves to the Saturday
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == datetime(2027, 1, 2, 9, 20, tzinfo=SH)
    assert "2 new" in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text("2027-01-01,holiday\nnot a line\n", encoding="utf-8")
    with pytest.raises(CommandError, match="lines 2"):
        call_command("calendar_import", str(bad))
    assert HolidayEntry.objects.count() == 2  # nothing changed
