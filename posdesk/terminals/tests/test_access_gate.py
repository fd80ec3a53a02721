"""The terminal access gate: each role sees exactly the terminals of its own work."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from posdesk.core.errors import NotFound
from posdesk.terminals.models import Terminal
from posdesk.terminals.selectors import terminal_get_for_user, terminal_list_for_user, terminal_scope_for_user
from posdesk.tickets.tests.builders import spread_work


@pytest.fixture
def work(world, open_ticket):
    return spread_work(world, open_ticket)


def _ids(queryset):
    return sorted(queryset.values_list("pk", flat=True))


def test_merchant_user_sees_only_their_own_terminals(world, work):
    assert _ids(terminal_scope_for_user(world.merchant_user)) == [world.terminal.pk]


def test_technician_sees_the_terminals_of_tickets_assigned_to_them(world, work):
    assert _ids(terminal_scope_for_user(world.technician)) == [work.tech_terminal.pk]


@pytest.mark.parametrize("who", ["vendor", "vendor_tech"])
def test_vendor_users_see_the_terminals_of_their_vendors_tickets(world, work, who):
    user = world.vendor if who == "vendor" else world.vendor_tech
    assert _ids(terminal_scope_for_user(user)) == [work.vendor_terminal.pk]


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_desk_sees_every_terminal(world, work, role):
    assert _ids(terminal_scope_for_user(world.users[role])) == sorted(
        Terminal.objects.values_list("pk", flat=True)
    )


@pytest.mark.parametrize("role", ["merchant", "agent", "technician", "vendor", "supervisor", "admin"])
def test_an_inactive_user_sees_no_terminals(world, work, role):
    user = world.users[role]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _ids(terminal_scope_for_user(user)) == []


def test_anonymous_sees_no_terminals(world):
    assert _ids(terminal_scope_for_user(AnonymousUser())) == []


def test_merchant_cannot_fetch_another_merchants_terminal_by_id_sn_or_tid(world):
    other = world.other_terminal
    for lookup in ({"terminal_id": other.pk}, {"sn": other.sn}, {"tid": other.tid}, {}):
        with pytest.raises(NotFound) as refused:
            terminal_get_for_user(world.merchant_user, **lookup)
        assert refused.value.code == "terminal_not_found"
    assert terminal_get_for_user(world.merchant_user, tid=world.terminal.tid) == world.terminal


def test_terminal_list_finds_by_sn_in_any_case_or_by_tid(world):
    assert [t.pk for t in terminal_list_for_user(world.agent, q=world.other_terminal.sn.lower())] == [
        world.other_terminal.pk
    ]
    assert [t.pk for t in terminal_list_for_user(world.agent, q=world.terminal.tid)] == [world.terminal.pk]
    assert list(terminal_list_for_user(world.merchant_user, q=world.other_terminal.tid)) == []


@pytest.mark.parametrize("lookup", ["terminal_id", "sn", "tid"])
def test_the_desk_lookup_gives_the_terminal_with_its_model_merchant_and_district(world, lookup):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    value = {"terminal_id": world.terminal.pk, "sn": world.terminal.sn, "tid": world.terminal.tid}[lookup]
    stored = Terminal.objects.select_related("model", "merchant__district").get(pk=world.terminal.pk)
    with CaptureQueriesContext(connection) as queries:
        terminal = terminal_get_for_user(world.agent, **{lookup: value})
        # then everything the callers read comes with it, in one query
        seen = (terminal.pk, terminal.sn, terminal.tid, terminal.warranty_end, terminal.model.pk, terminal.model.name,
                terminal.merchant.pk, terminal.merchant.mid, terminal.merchant.district.code)
    assert len(queries) == 1
    assert seen == (stored.pk, stored.sn, stored.tid, stored.warranty_end, stored.model.pk, stored.model.name,
                    stored.merchant.pk, stored.merchant.mid, stored.merchant.district.code)


def test_the_desk_lookup_of_an_unknown_or_absurd_terminal_is_not_found(world):
    for lookup in ({"sn": "NOPE0000"}, {"tid": "99999999"}, {"terminal_id": 2**70}, {"terminal_id": -1}, {}):
        with pytest.raises(NotFound):
            terminal_get_for_user(world.agent, **lookup)


def test_an_unbound_terminal_comes_without_a_merchant(world):
    world.terminal.merchant = None
    world.terminal.save(update_fields=["merchant"])
    assert terminal_get_for_user(world.supervisor, sn=world.terminal.sn).merchant is None
