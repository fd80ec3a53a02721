"""The call log in the API: GET /api/v1/calls (filters, pages, masked numbers, the desk only, the
merchant gate) and GET /api/v1/calls/{id} with its recording and callback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from posdesk.channels.models import CallRecord
from posdesk.channels.phone.services import call_event_record, call_log_outbound
from posdesk.channels.selectors import CallFilters, call_list_for_user
from posdesk.core.errors import PermissionDenied

pytestmark = pytest.mark.django_db

MONDAY_1000 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
URL = "/api/v1/calls"
RECORDING = "https://cc.example.cn/rec/CC-2.mp3"


@pytest.fixture
def calls(world, time_machine, open_ticket) -> dict[str, Any]:
    """Four calls: a missed one and an answered one of world.merchant, one of an unknown number, and
    an agent's follow-up about a ticket an hour later."""
    time_machine.move_to(MONDAY_1000, tick=False)
    ticket = open_ticket()
    call_event_record(call_id="CC-1", event="missed", caller="13812345678", at=MONDAY_1000 - timedelta(hours=3))
    for kind, minutes in (("ringing", 0), ("answered", 1), ("ended", 6)):
        call_event_record(call_id="CC-2", event=kind, caller="13812345678", agent="agent",
                          at=MONDAY_1000 - timedelta(hours=2) + timedelta(minutes=minutes),
                          recording_url=RECORDING if kind == "ended" else "")
    call_event_record(call_id="CC-3", event="missed", caller="13700000000", at=MONDAY_1000 - timedelta(hours=1))
    time_machine.move_to(MONDAY_1000 + timedelta(hours=1), tick=False)
    outbound = call_log_outbound(agent=world.agent, merchant=world.merchant, ticket=ticket, outcome="no_answer")
    return {"ticket": ticket, "outbound": outbound, **{c.call_id: c for c in CallRecord.objects.all()}}


def call_ids(body: dict) -> list[str]:
    return [item["call_id"] for item in body["items"]]


def test_the_desk_reads_the_call_log_newest_first_with_numbers_masked(world, api, calls):
    response = api(world.agent).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert call_ids(body) == [calls["outbound"].call_id, "CC-3", "CC-2", "CC-1"]
    assert body["count"] == 4 and body["next_offset"] is None
    assert {item["mobile"] for item in body["items"]} == {"138****5678", "137****0000"}
    assert "13812345678" not in response.content.decode() and "13700000000" not in response.content.decode()


@pytest.mark.parametrize(("query", "expected"), [
    ("direction=outbound", ["outbound"]),
    ("direction=inbound", ["CC-3", "CC-2", "CC-1"]),
    ("outcome=no_answer", ["outbound"]),
    ("merchant_id={merchant}", ["outbound", "CC-2", "CC-1"]),
    ("ticket_id={ticket}", ["outbound", "CC-2", "CC-1"]),  # the missed and answered calls came in on it
    ("started_from=2026-11-23T06:30:00%2B08:00&started_before=2026-11-23T08:30:00%2B08:00", ["CC-2", "CC-1"]),
    ("started_from=2026-11-23T09:00:00%2B08:00", ["outbound", "CC-3"]),
    ("merchant_id={other_merchant}", []),
])
def test_the_call_log_filters(world, api, calls, query, expected):
    url = f"{URL}?" + query.format(merchant=world.merchant.pk, ticket=calls["ticket"].pk,
                                   other_merchant=world.other_merchant.pk)

    body = api(world.supervisor).get(url).json()

    assert call_ids(body) == [calls["outbound"].call_id if c == "outbound" else c for c in expected]
    assert body["count"] == len(expected)


def test_the_call_log_comes_in_pages(world, api, calls):
    first = api(world.agent).get(f"{URL}?limit=3").json()
    second = api(world.agent).get(f"{URL}?limit=3&offset={first['next_offset']}").json()

    assert (len(first["items"]), first["next_offset"], first["count"]) == (3, 3, 4)
    assert call_ids(second) == ["CC-1"] and second["next_offset"] is None


@pytest.mark.parametrize(("query", "field"), [
    ("direction=sideways", "direction"),
    ("outcome=great", "outcome"),
    ("started_from=2026-11-23T10:00:00%2B08:00&started_before=2026-11-23T09:00:00%2B08:00", "started_before"),
])
def test_a_bad_filter_is_refused_with_the_field(world, api, calls, query, field):
    response = api(world.agent).get(f"{URL}?{query}")

    assert response.status_code == 422
    assert response.json()["detail"] == {"field": field}


@pytest.mark.parametrize("query", ["ticket_id=188145090069702010347456561152", "merchant_id=-1",
                                   "merchant_id=9223372036854775808"])
def test_an_id_no_row_can_have_is_refused(world, api, calls, query):
    """Found by the schema fuzzer: a ticket id past 64 bits reached SQLite and answered 500."""
    response = api(world.agent).get(f"{URL}?{query}")

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_a_moment_without_its_zone_is_refused(world, api, calls):
    response = api(world.agent).get(f"{URL}?started_from=2026-11-23T10:00:00")

    assert response.status_code == 422
    assert set(response.json()) == {"code", "message", "detail"}


@pytest.mark.parametrize("role", ["merchant", "technician", "vendor"])
def test_only_the_desk_reads_calls(world, api, calls, role):
    assert api(world.users[role]).get(URL).status_code == 403
    assert api(world.users[role]).get(f"{URL}/{calls['CC-2'].pk}").status_code == 403
    with pytest.raises(PermissionDenied):
        call_list_for_user(world.users[role], CallFilters())


def test_anonymous_callers_must_sign_in(calls, api):
    assert api(None).get(URL).status_code == 401


def test_a_call_shows_its_recording_duration_merchant_and_ticket(world, api, calls):
    call = calls["CC-2"]

    response = api(world.agent).get(f"{URL}/{call.pk}")

    assert response.status_code == 200
    body = response.json()
    assert (body["call_id"], body["state"], body["direction"]) == ("CC-2", "ended", "inbound")
    assert body["recording_url"] == RECORDING and body["duration_seconds"] == 300
    assert body["merchant"] == {"id": world.merchant.pk, "mid": world.merchant.mid, "name": world.merchant.name}
    assert body["ticket"] == {"id": calls["ticket"].pk, "number": calls["ticket"].number}
    assert body["agent"]["id"] == world.agent.pk and body["callback"] is None
    assert body["mobile"] == "138****5678" and "13812345678" not in response.content.decode()


def test_a_missed_call_shows_the_callback_it_became(world, api, calls):
    body = api(world.admin).get(f"{URL}/{calls['CC-3'].pk}").json()

    assert body["merchant"] is None and body["ticket"] is None and body["recording_url"] == ""
    assert body["callback"]["status"] == "open" and body["duration_seconds"] is None


def test_an_unknown_call_is_404(world, api):
    response = api(world.agent).get(f"{URL}/999999")

    assert response.status_code == 404 and response.json()["code"] == "call_not_found"


def test_the_call_log_reads_a_bounded_number_of_rows(world, api, calls, django_assert_max_num_queries):
    client = api(world.agent)
    client.get(URL)  # the token's first use writes its last-used time
    for n in range(20):
        call_event_record(call_id=f"CC-N{n}", event="missed", caller=f"1381234{n:04d}", at=MONDAY_1000)

    with django_assert_max_num_queries(6):
        response = client.get(f"{URL}?limit=50")

    assert len(response.json()["items"]) == 24


def test_the_call_operations_are_described_in_the_openapi(client):
    spec = client.get("/api/v1/openapi.json").json()
    listing, detail = spec["paths"]["/api/v1/calls"]["get"], spec["paths"]["/api/v1/calls/{call_record_id}"]["get"]
    assert "masked" in listing["description"] and "recording" in detail["description"]
    parameters = {p["name"] for p in listing["parameters"]}
    assert {"merchant_id", "ticket_id", "direction", "outcome", "started_from", "started_before", "offset",
            "limit"} <= parameters
