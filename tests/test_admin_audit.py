from posdesk.audit.models import AuditEntry
from posdesk.merchants.models import Merchant


def test_an_admin_edit_of_a_merchant_is_audited(world, client):
    # given the administrator signed in to the Django admin
    client.force_login(world.admin)
    merchant = world.merchant
    # when they rename the merchant
    response = client.post(
        f"/admin/merchants/merchant/{merchant.pk}/change/",
        {
            "mid": merchant.mid, "name": "西湖便利店（文三路店）", "tier": merchant.tier, "status": merchant.status,
            "district": merchant.district_id, "address": merchant.address, "latitude": "", "longitude": "",
            "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0", "contacts-MIN_NUM_FORMS": "0",
            "contacts-MAX_NUM_FORMS": "1000",
        },
    )
    # then the change is saved and written to the audit log with the changed field
    assert response.status_code == 302, response.content[:500]
    assert Merchant.objects.get(pk=merchant.pk).name == "西湖便利店（文三路店）"
    entry = AuditEntry.objects.get(object_type="merchants.merchant", object_id=str(merchant.pk),
                                   action=AuditEntry.Action.UPDATE)
    assert entry.actor == world.admin
    assert entry.changes == {"name": "西湖便利店（文三路店）"}


def test_only_the_admin_role_reaches_the_django_admin(world, client):
    for role, user in world.users.items():
        client.force_login(user)
        response = client.get("/admin/")
        assert response.status_code == (200 if role == "admin" else 302), role
