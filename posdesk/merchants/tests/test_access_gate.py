"""The merchant access gate: each role sees exactly the merchants of its own work."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from posdesk.core.errors import NotFound
from posdesk.merchants.models import Merchant
from posdesk.merchants.selectors import merchant_get_for_user, merchant_list_for_user, merchant_scope_for_user
from posdesk.tickets.tests.builders import spread_work
from tests import factories as f


@pytest.fixture
def work(world, open_ticket):
    return spread_work(world, open_ticket)


def _ids(queryset):
    return sorted(queryset.values_list("pk", flat=True))


def test_merchant_user_sees_only_their_own_merchant(world, work):
    assert _ids(merchant_scope_for_user(world.merchant_user)) == [world.merchant.pk]


def test_technician_sees_the_merchants_of_tickets_assigned_to_them_once(world, work, open_ticket):
    from posdesk.tickets.services import ticket_assign

    second = open_ticket(merchant=work.tech_merchant)
    ticket_assign(ticket=second, actor=world.agent, assignee=world.technician)
    assert _ids(merchant_scope_for_user(world.technician)) == [work.tech_merchant.pk]


@pytest.mark.parametrize("who", ["vendor", "vendor_tech"])
def test_vendor_users_see_the_merchants_of_their_vendors_tickets(world, work, who):
    user = world.vendor if who == "vendor" else world.vendor_tech
    assert _ids(merchant_scope_for_user(user)) == [work.vendor_merchant.pk]


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_desk_sees_every_merchant(world, work, role):
    assert _ids(merchant_scope_for_user(world.users[role])) == sorted(
        Merchant.objects.values_list("pk", flat=True)
    )


@pytest.mark.parametrize("role", ["merchant", "agent", "technician", "vendor", "supervisor", "admin"])
def test_an_inactive_user_sees_no_merchants(world, work, role):
    user = world.users[role]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _ids(merchant_scope_for_user(user)) == []


def test_anonymous_sees_no_merchants(world):
    assert _ids(merchant_scope_for_user(AnonymousUser())) == []


def test_merchant_cannot_fetch_another_merchant_by_id_or_mid(world):
    for lookup in ({"merchant_id": world.other_merchant.pk}, {"mid": world.other_merchant.mid}, {}):
        with pytest.raises(NotFound) as refused:
            merchant_get_for_user(world.merchant_user, **lookup)
        assert refused.value.code == "merchant_not_found"
    assert merchant_get_for_user(world.merchant_user, mid=world.merchant.mid) == world.merchant


def test_merchant_list_searches_by_mid_mobile_and_name_within_scope(world):
    f.MerchantFactory(name="西湖面馆", address="杭州市西湖区")
    agent = world.agent
    assert [m.pk for m in merchant_list_for_user(agent, q=world.merchant.mid)] == [world.merchant.pk]
    assert [m.pk for m in merchant_list_for_user(agent, q="139-0000-1111")] == [world.other_merchant.pk]
    assert {m.name for m in merchant_list_for_user(agent, q="面馆")} == {"滨江面馆", "西湖面馆"}
    assert [m.pk for m in merchant_list_for_user(agent, district="binjiang")] == [world.other_merchant.pk]
    # the merchant user's search never leaves their own scope
    assert list(merchant_list_for_user(world.merchant_user, q=world.other_merchant.mid)) == []
