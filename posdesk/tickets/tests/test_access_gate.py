"""The ticket access gate: each role sees exactly its own tickets."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from posdesk.accounts.models import Role
from posdesk.core.errors import NotFound
from posdesk.tickets.selectors import ticket_get_for_user, ticket_scope_for_user
from posdesk.tickets.services import ticket_assign
from posdesk.tickets.tests.builders import spread_work
from tests import factories as f


@pytest.fixture
def work(world, open_ticket):
    return spread_work(world, open_ticket)


def _ids(queryset):
    return sorted(queryset.values_list("pk", flat=True))


EXPECTED = {
    "merchant": ["own"],
    "technician": ["tech"],
    "vendor": ["vendor"],
    "vendor_tech": ["vendor"],
    "agent": ["own", "other", "tech", "vendor", "other_vendor"],
    "supervisor": ["own", "other", "tech", "vendor", "other_vendor"],
    "admin": ["own", "other", "tech", "vendor", "other_vendor"],
}


def _user(world, who):
    return world.vendor_tech if who == "vendor_tech" else world.users[who]


@pytest.mark.parametrize("who", list(EXPECTED))
def test_each_role_sees_exactly_its_tickets(world, work, who):
    seen = _ids(ticket_scope_for_user(_user(world, who)))
    assert seen == sorted(getattr(work, name).pk for name in EXPECTED[who])


@pytest.mark.parametrize("who", list(EXPECTED))
def test_an_inactive_user_sees_no_tickets(world, work, who):
    user = _user(world, who)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _ids(ticket_scope_for_user(user)) == []


def test_anonymous_sees_no_tickets(work):
    assert _ids(ticket_scope_for_user(AnonymousUser())) == []


def test_a_vendor_user_without_an_organisation_sees_nothing(world, work):
    stray = f.UserFactory(username="stray-vendor", role=Role.VENDOR, organisation=None)
    assert _ids(ticket_scope_for_user(stray)) == []


def test_merchant_cannot_see_another_merchants_ticket(world, work):
    with pytest.raises(NotFound) as refused:
        ticket_get_for_user(world.merchant_user, ticket_id=work.other.pk)
    assert refused.value.code == "ticket_not_found"
    assert ticket_get_for_user(world.merchant_user, ticket_id=work.own.pk) == work.own


def test_merchant_user_of_two_shops_sees_both(world, work):
    f.MerchantContactFactory(merchant=world.other_merchant, mobile="13812345678", user=world.merchant_user)
    assert _ids(ticket_scope_for_user(world.merchant_user)) == sorted([work.own.pk, work.other.pk])


def test_technician_loses_sight_of_a_ticket_given_to_someone_else(world, work):
    ticket_assign(ticket=work.tech, actor=world.agent, assignee=world.agent2)
    with pytest.raises(NotFound):
        ticket_get_for_user(world.technician, ticket_id=work.tech.pk)


def test_a_ticket_is_found_by_its_number_in_any_case(world, work):
    assert ticket_get_for_user(world.agent, number=work.own.number.lower()) == work.own
    with pytest.raises(NotFound):
        ticket_get_for_user(world.merchant_user, number=work.other.number)


def test_asking_for_no_ticket_finds_none(world):
    with pytest.raises(NotFound):
        ticket_get_for_user(world.agent)
