"""`posdesk demo`: idempotent, complete (every category, priority and status), consistent with
what the ticket services guarantee, and `--tickets N` builds N tickets."""

from __future__ import annotations

import re
from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F

from posdesk.accounts.models import STAFF_ROLES, Organisation, Team, User
from posdesk.core.identifiers import parse_sn
from posdesk.core.taxonomy import OPEN_STATUSES, Category, Priority, Status
from posdesk.demo import catalogue as cat
from posdesk.demo.fleet import plan_merchants, plan_terminals
from posdesk.merchants.models import Merchant, MerchantContact
from posdesk.terminals.models import Terminal, TerminalModel
from posdesk.tickets import lifecycle
from posdesk.tickets.models import Ticket, TicketEvent, TicketNumberSequence

SMALL = {"merchants": 40, "terminals": 60, "history_days": 21, "no_logins": True}
MODELS = [Organisation, Team, User, TerminalModel, Merchant, MerchantContact, Terminal, Ticket, TicketEvent,
          TicketNumberSequence]


def run_demo(**options) -> str:
    out = StringIO()
    call_command("demo", stdout=out, **{**SMALL, **options})
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def demo(db) -> None:
    run_demo()


def test_running_the_demo_twice_changes_nothing(db):
    # given the demo loaded once
    run_demo()
    before = counts()
    # when it runs again
    output = run_demo()
    # then every table is as it was
    assert counts() == before
    assert "nothing changed" in output
    assert before["Merchant"] == 40 and before["Ticket"] > 50


def test_the_history_shows_every_category_priority_and_status(demo):
    assert set(Ticket.objects.values_list("category", flat=True)) == set(Category.values)
    assert set(Ticket.objects.values_list("priority", flat=True)) == set(Priority.values)
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Status.values)


def test_every_ticket_has_its_merchants_district_and_a_terminal_of_that_merchant(demo):
    tickets = Ticket.objects.all()
    assert not tickets.filter(district__isnull=True).exists()
    assert not tickets.exclude(district_id=F("merchant__district_id")).exists()
    assert not tickets.filter(terminal__isnull=False).exclude(terminal__merchant_id=F("merchant_id")).exists()


def test_ticket_times_match_their_status(demo):
    tickets = Ticket.objects.all()
    assert not tickets.filter(status__in=OPEN_STATUSES).exclude(resolved_at=None, closed_at=None).exists()
    assert not tickets.filter(status=Status.RESOLVED).filter(resolved_at=None).exists()
    assert not tickets.filter(status=Status.RESOLVED).exclude(closed_at=None).exists()
    assert not tickets.filter(status__in=[Status.CLOSED, Status.CANCELLED], closed_at=None).exists()
    assert not tickets.filter(updated_at__lt=F("created_at")).exists()


def test_first_response_is_the_first_staff_reply(demo):
    staff_replies = defaultdict(list)
    for ticket_id, at, role in TicketEvent.objects.filter(kind=TicketEvent.Kind.REPLY).values_list(
        "ticket_id", "created_at", "actor__role"
    ):
        if role in STAFF_ROLES:
            staff_replies[ticket_id].append(at)
    for ticket in Ticket.objects.only("pk", "first_response_at"):
        expected = min(staff_replies[ticket.pk]) if staff_replies[ticket.pk] else None
        assert ticket.first_response_at == expected, ticket.pk


def test_every_status_change_is_a_legal_move_by_a_role_that_may_make_it(demo):
    roles = dict(User.objects.values_list("pk", "role"))
    status: dict[int, str] = {}
    events = TicketEvent.objects.order_by("ticket_id", "created_at", "id").values_list(
        "ticket_id", "kind", "from_status", "to_status", "actor_id", "reason", "data"
    )
    for ticket_id, kind, from_status, to_status, actor_id, reason, data in events:
        if kind == TicketEvent.Kind.CREATED:
            status[ticket_id] = Status.NEW
            continue
        if kind != TicketEvent.Kind.STATUS_CHANGED:
            continue
        assert from_status == status[ticket_id], ticket_id
        assert lifecycle.is_legal(from_status, to_status), (ticket_id, from_status, to_status)
        if actor_id is not None and not data.get("automatic"):  # the services move automatically too
            assert lifecycle.role_may_move(roles[actor_id], from_status, to_status), (ticket_id, to_status)
        if (from_status, to_status) in lifecycle.REASON_REQUIRED:
            assert reason, (ticket_id, from_status, to_status)
        status[ticket_id] = to_status
    for ticket_id, final in Ticket.objects.values_list("pk", "status"):
        assert status[ticket_id] == final


def test_ticket_numbers_are_unique_and_later_tickets_continue_the_sequence(demo, django_capture_on_commit_callbacks):
    from posdesk.tickets.services import ticket_open

    numbers = list(Ticket.objects.values_list("number", flat=True))
    assert all(re.fullmatch(r"T\d{10,}", n) for n in numbers)
    # when a ticket is opened through the service today
    agent = User.objects.get(username="agent")
    merchant = Merchant.objects.filter(status=Merchant.Status.ACTIVE).first()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_open(actor=agent, merchant=merchant, text="打印机不出纸", channel="phone")
    # then its number follows the demo's numbers of the day
    same_day = [int(n[7:]) for n in numbers if n[:7] == ticket.number[:7]]
    assert int(ticket.number[7:]) == max(same_day, default=0) + 1


def test_demo_people_can_sign_in(demo):
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.role == "admin"
    assert admin.check_password(cat.DEMO_PASSWORD)
    assert User.objects.get(username="vendor2").organisation.kind == Organisation.Kind.VENDOR
    showcase = MerchantContact.objects.get(mobile=cat.SHOWCASE_MOBILE)
    assert showcase.user is not None and showcase.user.role == "merchant"
    assert Ticket.objects.filter(merchant=showcase.merchant, status=Status.PENDING_ACCEPTANCE).exists()


def test_the_command_prints_the_log_ins(db):
    output = run_demo(no_logins=False)
    assert "admin" in output and cat.DEMO_PASSWORD in output and cat.SHOWCASE_MOBILE in output


def test_bulk_tickets_top_up_to_the_requested_number(db, django_capture_on_commit_callbacks):
    # given the small demo, when benchmark volume is asked for twice
    output = run_demo(tickets=2000, batch_size=700)
    run_demo(tickets=2000)
    # then there are exactly that many tickets, each with its report on the timeline
    assert Ticket.objects.count() == 2000
    assert "created" in output
    without_event = Ticket.objects.annotate(n=Count("events")).filter(n=0)
    assert not without_event.exists()
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.CREATED).count() == 2000
    tickets = Ticket.objects.all()
    assert not tickets.exclude(district_id=F("merchant__district_id")).exists()
    assert not tickets.filter(terminal__isnull=False).exclude(terminal__merchant_id=F("merchant_id")).exists()
    assert tickets.filter(status__in=OPEN_STATUSES).count() < tickets.count() / 3
    assert tickets.values("number").distinct().count() == 2000
    # and tickets opened afterwards get new numbers and ids
    from posdesk.tickets.services import ticket_open

    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_open(actor=User.objects.get(username="agent"), merchant=Merchant.objects.first(),
                             text="签到失败", channel="phone")
    assert Ticket.objects.filter(number=ticket.number).count() == 1


def test_the_plans_are_the_same_on_every_run_and_hold_valid_identifiers():
    from datetime import date

    first, again = plan_merchants(300, seed="s"), plan_merchants(300, seed="s")
    assert first == again
    assert plan_merchants(40, seed="s") == first[:40]
    mids = [m.mid for m in first]
    assert len(set(mids)) == 300 and all(re.fullmatch(r"\d{15}", mid) for mid in mids)
    terminals = plan_terminals(first, 500, seed="s", today=date(2026, 11, 22))
    assert terminals == plan_terminals(first, 500, seed="s", today=date(2026, 11, 22))
    assert len({t.tid for t in terminals}) == len(terminals) and all(re.fullmatch(r"\d{8}", t.tid) for t in terminals)
    assert len({t.sn for t in terminals}) == len(terminals)
    assert all(parse_sn(t.sn) == t.sn for t in terminals)
    assert {m.district_code for m in first} == set(cat.ROADS)
    mobiles = [c.mobile for m in first for c in m.contacts]
    assert len(set(mobiles)) == len(mobiles)


@pytest.mark.parametrize("day", range(1, 8))
def test_a_small_history_covers_the_whole_taxonomy_whatever_the_day(day):
    from datetime import UTC, datetime

    from posdesk.demo.history import Cast, HistoryPlanner, Shop

    # given a small world planned on any day of the week
    shops = [Shop(id=i, district_id=1, terminal_ids=(100 + i,), user_id=200 + i if i % 3 == 0 else None)
             for i in range(1, 31)]
    cast = Cast(agents=(1, 2), tech_support=(3,), technicians=(4,), vendor_staff=(5,), supervisors=(6,),
                names={}, teams={"frontline": 1, "tech-support": 2, "field-service": 3, "customer-care": 4},
                team_names={}, vendor_id=9, vendor_name="v")
    now = datetime(2026, 11, day, 10, 30, tzinfo=UTC)
    # when the history is planned
    tickets = HistoryPlanner(shops=shops, cast=cast, now=now, days=14, seed="t", showcase_shop_id=3).plan()
    # then it shows every category, priority and status, and nothing after "now"
    assert {t.category for t in tickets} == set(Category.values)
    assert {t.priority for t in tickets} == set(Priority.values)
    assert {t.status for t in tickets} == set(Status.values)
    assert all(e.at <= now for t in tickets for e in t.events)
