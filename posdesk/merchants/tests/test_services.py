"""Registering merchants and their contacts, and revealing a contact's details."""

from __future__ import annotations

from decimal import Decimal

import pytest

from posdesk.audit.models import AuditEntry
from posdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from posdesk.merchants.models import Merchant, MerchantContact
from posdesk.merchants.services import merchant_contact_reveal, merchant_create
from tests import factories as f


def test_desk_registers_a_merchant_with_its_primary_contact(world):
    merchant = merchant_create(
        actor=world.agent,
        mid=" 898330160120077 ",
        name=" 文三路水果店 ",
        district=f.district("xihu"),
        address="文三路1号",
        tier="key",
        latitude=Decimal("30.27"),
        longitude=Decimal("120.13"),
        contact_name="孙老板",
        contact_mobile="+86 137 0000 2222",
        contact_email="Sun@Example.cn",
    )
    assert (merchant.mid, merchant.name, merchant.tier) == ("898330160120077", "文三路水果店", "key")
    contact = merchant.contacts.get()
    assert (contact.name, contact.mobile, contact.email, contact.is_primary) == (
        "孙老板",
        "13700002222",
        "sun@example.cn",
        True,
    )
    assert AuditEntry.objects.filter(
        object_type="merchants.merchant",
        object_id=str(merchant.pk),
        action=AuditEntry.Action.CREATE,
        actor=world.agent,
    ).exists()
    assert AuditEntry.objects.filter(
        object_type="merchants.merchantcontact", object_id=str(contact.pk)
    ).exists()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"mid": "89833016012007"}, "invalid_mid"),
        ({"mid": "８９８３３０１６０１２００７７"}, "invalid_mid"),
        ({"name": "   "}, "validation_error"),
        ({"tier": "gold"}, "validation_error"),
        ({"contact_mobile": "12345"}, "invalid_mobile"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_created(world, fields, code):
    before = (Merchant.objects.count(), MerchantContact.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationFailed) as refused:
        merchant_create(actor=world.agent, **{"mid": "898330160120077", "name": "文三路水果店", **fields})
    assert refused.value.code == code
    assert (Merchant.objects.count(), MerchantContact.objects.count(), AuditEntry.objects.count()) == before


def test_a_duplicate_mid_is_a_conflict(world):
    with pytest.raises(Conflict) as refused:
        merchant_create(actor=world.agent, mid=world.merchant.mid, name="另一家")
    assert refused.value.code == "merchant_exists"


@pytest.mark.parametrize("role", ["merchant", "technician", "vendor"])
def test_only_the_desk_registers_merchants(world, role):
    with pytest.raises(PermissionDenied):
        merchant_create(actor=world.users[role], mid="898330160120077", name="文三路水果店")
    assert not Merchant.objects.filter(mid="898330160120077").exists()


def test_revealing_a_contact_gives_the_real_details_and_is_audited(world):
    details = merchant_contact_reveal(actor=world.agent, contact=world.contact)
    assert details["mobile"] == "13812345678"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEW_PERSONAL_DATA)
    assert (entry.actor, entry.object_id, entry.changes) == (
        world.agent,
        str(world.contact.pk),
        {"fields": ["mobile", "email", "wechat_openid"]},
    )


def test_a_merchant_user_may_reveal_only_their_own_contact_entry(world):
    fellow = f.MerchantContactFactory(merchant=world.merchant, mobile="13700003333", name="店员小王")
    assert (
        merchant_contact_reveal(actor=world.merchant_user, contact=world.contact)["mobile"] == "13812345678"
    )
    with pytest.raises(PermissionDenied):
        merchant_contact_reveal(actor=world.merchant_user, contact=fellow)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA).count() == 1


def test_a_contact_is_shown_masked(world):
    assert str(world.contact) == "张老板 138****5678"
    assert world.contact.masked_mobile == "138****5678"
