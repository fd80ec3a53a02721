"""REST API v1: merchants (list, create, get, reveal), terminals (list, create, get) and `me`."""

from __future__ import annotations

import pytest

from posdesk.audit.models import AuditEntry
from posdesk.merchants.models import Merchant, MerchantContact
from posdesk.terminals.models import Terminal
from tests import factories as f

JSON = "application/json"


def post(client, url, data, **headers):
    return client.post(url, data=data, content_type=JSON, headers=headers)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    return body


# --- merchants ----------------------------------------------------------------------------


def test_agent_lists_merchants_with_masked_nothing_personal(world, api):
    body = api(world.agent).get("/api/v1/merchants").json()
    assert set(body) == {"items", "next_offset", "count"}
    assert body["count"] == 2
    assert [m["name"] for m in body["items"]] == sorted(["西湖便利店", "滨江面馆"])
    row = next(m for m in body["items"] if m["mid"] == world.merchant.mid)
    assert row["id"] == world.merchant.pk
    assert row["district"] == {"code": "xihu", "name_zh": "西湖区", "name_en": "Xihu"}
    assert "13812345678" not in str(body)


def test_merchant_lists_only_their_own_merchants(world, api):
    body = api(world.merchant_user).get("/api/v1/merchants").json()
    assert [m["mid"] for m in body["items"]] == [world.merchant.mid]


def test_merchant_list_pages_by_offset(world, api):
    for i in range(5):
        f.MerchantFactory(name=f"测试商户{i}")
    client = api(world.agent)
    first = client.get("/api/v1/merchants?limit=3").json()
    second = client.get(f"/api/v1/merchants?limit=3&offset={first['next_offset']}").json()
    third = client.get(f"/api/v1/merchants?limit=3&offset={second['next_offset']}").json()
    ids = [m["id"] for page in (first, second, third) for m in page["items"]]
    assert len(ids) == len(set(ids)) == 7
    assert third["next_offset"] is None


def test_a_negative_offset_starts_at_the_beginning(world, api):
    client = api(world.agent)
    assert client.get("/api/v1/merchants?offset=-5").json() == client.get("/api/v1/merchants").json()
    assert client.get("/api/v1/terminals?offset=-5").json() == client.get("/api/v1/terminals").json()


def test_registering_drops_nul_characters_on_every_database(world, api):
    body = post(
        api(world.agent),
        "/api/v1/merchants",
        {"mid": "898330160120077", "name": "文三路\u0000水果店", "address": "文三路\u00001号"},
    ).json()
    assert (body["name"], body["address"]) == ("文三路水果店", "文三路1号")
    terminal = post(
        api(world.agent),
        "/api/v1/terminals",
        {"sn": "N7NL00000777", "model": "newland-me31", "firmware": "V2\u0000.4"},
    ).json()
    assert terminal["sn"] == "N7NL00000777"
    assert Terminal.objects.get(sn="N7NL00000777").firmware == "V2.4"


@pytest.mark.parametrize("field", ["firmware", "sim_carrier", "model"])
def test_overlong_terminal_fields_are_refused_on_every_database(world, api, field):
    response = post(
        api(world.agent),
        "/api/v1/terminals",
        {"sn": "N7NL00000777", "model": "newland-me31", field: "x" * 41},
    )
    assert_error(response, 422, "validation_error")
    assert not Terminal.objects.filter(sn="N7NL00000777").exists()


def test_merchant_list_searches(world, api):
    client = api(world.agent)
    assert [m["mid"] for m in client.get("/api/v1/merchants?q=13900001111").json()["items"]] == [
        world.other_merchant.mid
    ]
    assert [m["mid"] for m in client.get("/api/v1/merchants?district=xihu").json()["items"]] == [
        world.merchant.mid
    ]


def test_agent_registers_a_merchant(world, api):
    response = post(
        api(world.agent),
        "/api/v1/merchants",
        {
            "mid": "898330160120077",
            "name": "文三路水果店",
            "district": "xihu",
            "tier": "key",
            "contact_name": "孙老板",
            "contact_mobile": "13700002222",
            "latitude": "30.270000",
            "longitude": "120.130000",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["mid"], body["tier"], body["district"]["code"]) == ("898330160120077", "key", "xihu")
    assert body["contacts"][0]["mobile"] == "137****2222"
    assert body["contacts"][0]["is_primary"] is True


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"mid": "8983301601200", "name": "短号店"}, 422, "invalid_mid"),
        ({"mid": "89833016012007X", "name": "字母店"}, 422, "invalid_mid"),
        ({"mid": "898330160120021", "name": "重复店"}, 409, "merchant_exists"),
        ({"mid": "898330160120077", "name": "某店", "district": "nowhere"}, 422, "invalid_district"),
        ({"mid": "898330160120077", "name": "某店", "contact_mobile": "1234"}, 422, "invalid_mobile"),
        ({"mid": "898330160120077"}, 422, "validation_error"),
    ],
)
def test_bad_merchant_input_is_refused_and_changes_nothing(world, api, payload, status, code):
    before = (Merchant.objects.count(), MerchantContact.objects.count(), AuditEntry.objects.count())
    assert_error(post(api(world.agent), "/api/v1/merchants", payload), status, code)
    assert (Merchant.objects.count(), MerchantContact.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.parametrize("role", ["merchant", "technician", "vendor"])
def test_only_the_desk_registers_merchants(world, api, role):
    assert_error(
        post(api(world.users[role]), "/api/v1/merchants", {"mid": "898330160120077", "name": "某店"}),
        403,
        "forbidden",
    )
    assert not Merchant.objects.filter(mid="898330160120077").exists()


def test_get_shows_contacts_masked(world, api):
    body = api(world.merchant_user).get(f"/api/v1/merchants/{world.merchant.pk}").json()
    assert body["contacts"] == [
        {"id": world.contact.pk, "name": "张老板", "mobile": "138****5678", "email": "", "is_primary": True}
    ]


def test_merchant_cannot_get_another_merchant(world, api):
    assert_error(
        api(world.merchant_user).get(f"/api/v1/merchants/{world.other_merchant.pk}"),
        404,
        "merchant_not_found",
    )
    assert_error(api(world.agent).get("/api/v1/merchants/999999"), 404, "merchant_not_found")


def test_reveal_answers_the_real_details_and_writes_an_audit_entry(world, api):
    response = api(world.agent).post(
        f"/api/v1/merchants/{world.merchant.pk}/contacts/{world.contact.pk}/reveal"
    )
    assert response.status_code == 200
    assert response.json()["mobile"] == "13812345678"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEW_PERSONAL_DATA)
    assert (entry.actor, entry.object_type, entry.object_id) == (
        world.agent,
        "merchants.merchantcontact",
        str(world.contact.pk),
    )


def test_reveal_of_a_contact_outside_the_callers_scope_is_404_and_not_audited(world, api):
    client = api(world.merchant_user)
    assert_error(
        client.post(f"/api/v1/merchants/{world.other_merchant.pk}/contacts/{world.other_contact.pk}/reveal"),
        404,
        "merchant_not_found",
    )
    # a contact id of another merchant under one's own merchant is no way round
    assert_error(
        client.post(f"/api/v1/merchants/{world.merchant.pk}/contacts/{world.other_contact.pk}/reveal"),
        404,
        "contact_not_found",
    )
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA).exists()


# --- terminals ----------------------------------------------------------------------------


def test_agent_lists_and_filters_terminals(world, api):
    client = api(world.agent)
    assert {t["sn"] for t in client.get("/api/v1/terminals").json()["items"]} == {
        "N7NL00000001",
        "PAXS900000002",
    }
    assert [
        t["sn"] for t in client.get(f"/api/v1/terminals?merchant_id={world.merchant.pk}").json()["items"]
    ] == ["N7NL00000001"]
    assert [t["sn"] for t in client.get("/api/v1/terminals?q=10000002").json()["items"]] == ["PAXS900000002"]


def test_merchant_lists_only_their_own_terminals(world, api):
    items = api(world.merchant_user).get("/api/v1/terminals").json()["items"]
    assert [t["sn"] for t in items] == ["N7NL00000001"]
    assert items[0]["merchant"] == {"id": world.merchant.pk, "mid": world.merchant.mid, "name": "西湖便利店"}


def test_agent_registers_a_terminal(world, api):
    response = post(
        api(world.agent),
        "/api/v1/terminals",
        {
            "sn": "n7nl00000777",
            "tid": "10000777",
            "model": "newland-me31",
            "merchant_id": world.merchant.pk,
            "install_date": "2026-01-05",
            "warranty_end": "2028-01-05",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["sn"], body["tid"], body["status"], body["model"]["code"]) == (
        "N7NL00000777",
        "10000777",
        "active",
        "newland-me31",
    )


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"sn": "N7"}, 422, "invalid_sn"),
        ({"sn": "N7NL 0777"}, 422, "invalid_sn"),
        ({"tid": "1000077"}, 422, "invalid_tid"),
        ({"tid": "1000077a"}, 422, "invalid_tid"),
        ({"model": "nokia-3310"}, 422, "invalid_model"),
        ({"merchant_id": 999999}, 404, "merchant_not_found"),
        ({"sn": "N7NL00000001"}, 409, "terminal_exists"),
        ({"tid": "10000001"}, 409, "tid_in_use"),
        ({"install_date": "2026-13-01"}, 422, "validation_error"),
    ],
)
def test_bad_terminal_input_is_refused_and_changes_nothing(world, api, payload, status, code):
    before = (Terminal.objects.count(), AuditEntry.objects.count())
    assert_error(
        post(
            api(world.agent), "/api/v1/terminals", {"sn": "N7NL00000777", "model": "newland-me31", **payload}
        ),
        status,
        code,
    )
    assert (Terminal.objects.count(), AuditEntry.objects.count()) == before


def test_merchant_may_not_register_terminals(world, api):
    assert_error(
        post(api(world.merchant_user), "/api/v1/terminals", {"sn": "N7NL00000777", "model": "newland-me31"}),
        403,
        "forbidden",
    )


def test_terminal_get_is_within_scope(world, api):
    assert (
        api(world.merchant_user).get(f"/api/v1/terminals/{world.terminal.pk}").json()["sn"] == "N7NL00000001"
    )
    assert_error(
        api(world.merchant_user).get(f"/api/v1/terminals/{world.other_terminal.pk}"),
        404,
        "terminal_not_found",
    )


def test_terminal_models_are_listed(world, api):
    assert [m["code"] for m in api(world.agent).get("/api/v1/terminal-models").json()] == ["newland-me31"]


# --- me -----------------------------------------------------------------------------------


def test_me_answers_the_caller_with_the_mobile_masked(world, api):
    body = api(world.merchant_user).get("/api/v1/me").json()
    assert (body["username"], body["role"], body["mobile"], body["organisation"]) == (
        "m13812345678",
        "merchant",
        "138****5678",
        None,
    )


def test_me_shows_the_organisation_and_teams_of_staff(world, api):
    body = api(world.agent).get("/api/v1/me").json()
    assert (body["role"], body["display_name"], body["teams"]) == ("agent", "王坐席", ["frontline"])
    assert body["organisation"]["code"] == "hz-service"
    vendor = api(world.vendor).get("/api/v1/me").json()
    assert vendor["organisation"]["kind"] == "vendor"
