"""The incidents API end to end: the desk reads, supervisors act, errors keep the one shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from posdesk.incidents.models import Incident, IncidentEvent
from posdesk.incidents.services import incidents_observe
from posdesk.incidents.tests.builders import merchants_in, signal_of, tickets_at
from posdesk.outbox.models import OutboxMessage

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
JSON = "application/json"


@pytest.fixture
def incident(world):
    tickets = tickets_at(merchants_in("xihu", 12), [START + timedelta(seconds=i) for i in range(24)])
    with time_machine.travel(START + timedelta(seconds=30), tick=False):
        incidents_observe(signals=[signal_of(t) for t in tickets])
    return Incident.objects.get()


@pytest.mark.django_db
def test_an_agent_lists_incidents_with_their_counts_in_a_fixed_number_of_queries(
        world, api, incident, django_assert_max_num_queries):
    client = api(world.agent)
    with django_assert_max_num_queries(6):
        answer = client.get("/api/v1/incidents?status=open,monitoring")
    assert answer.status_code == 200
    [row] = answer.json()
    assert (row["number"], row["ticket_count"], row["merchant_count"]) == (incident.number, 24, 12)
    assert row["scope"]["response_code"] == "96" and row["scope_kind"] == "response_code_district"


@pytest.mark.django_db
def test_the_incident_carries_its_post_incident_summary(world, api, incident):
    answer = api(world.agent).get(f"/api/v1/incidents/{incident.pk}")
    assert answer.status_code == 200
    summary = answer.json()["summary"]
    assert summary["ticket_count"] == 24 and summary["merchant_count"] == 12 and summary["notified_count"] == 24
    assert summary["time_to_detect_seconds"] == 23  # observed in one batch: detected at its last report
    assert answer.json()["timeline"][0]["kind"] == "detected"


@pytest.mark.django_db
def test_a_supervisors_update_is_created_once_per_idempotency_key_and_broadcast(
        world, api, incident, django_capture_on_commit_callbacks):
    client = api(world.supervisor)
    body = {"body": "主机已切换，正在恢复", "broadcast": True}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/api/v1/incidents/{incident.pk}/updates", data=body, content_type=JSON,
                            headers={"Idempotency-Key": "upd-1"})
        again = client.post(f"/api/v1/incidents/{incident.pk}/updates", data=body, content_type=JSON,
                            headers={"Idempotency-Key": "upd-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert IncidentEvent.objects.filter(kind="update").count() == 1
    assert OutboxMessage.objects.filter(purpose="incident_notice").count() == 12


@pytest.mark.django_db
def test_an_agent_may_not_post_updates_and_gets_the_error_shape(world, api, incident):
    answer = api(world.agent, language="en").post(f"/api/v1/incidents/{incident.pk}/updates",
                                                  data={"body": "x"}, content_type=JSON)
    assert answer.status_code == 403
    assert answer.json()["code"] == "incident_manage_not_allowed"
    assert "supervisors" in answer.json()["message"]


@pytest.mark.django_db
def test_resolving_twice_is_a_conflict(world, api, incident, django_capture_on_commit_callbacks):
    client = api(world.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(f"/api/v1/incidents/{incident.pk}/resolve", data={"resolution": "release"},
                           content_type=JSON)
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    again = client.post(f"/api/v1/incidents/{incident.pk}/resolve", data={"resolution": "release"},
                        content_type=JSON)
    assert again.status_code == 409 and again.json()["code"] == "incident_not_open"


@pytest.mark.django_db
def test_eta_and_status_moves(world, api, incident):
    client = api(world.supervisor)
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        eta = client.post(f"/api/v1/incidents/{incident.pk}/eta", data={"eta": "2026-12-01T12:30:00+08:00"},
                          content_type=JSON)
    assert eta.status_code == 200 and eta.json()["eta"].startswith("2026-12-01T04:30")
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        naive = client.post(f"/api/v1/incidents/{incident.pk}/eta", data={"eta": "2026-12-01T13:00:00"},
                            content_type=JSON)
    assert naive.status_code == 200 and naive.json()["eta"].startswith("2026-12-01T05:00")  # Hangzhou time
    moved = client.post(f"/api/v1/incidents/{incident.pk}/status", data={"to_status": "monitoring"},
                        content_type=JSON)
    assert moved.status_code == 200 and moved.json()["status"] == "monitoring"
    bad = client.post(f"/api/v1/incidents/{incident.pk}/status", data={"to_status": "dismissed"}, content_type=JSON)
    assert bad.status_code == 409 and bad.json()["detail"]["allowed"] == ["open", "resolved"]


@pytest.mark.django_db
def test_an_unknown_status_filter_is_refused(world, api):
    answer = api(world.agent).get("/api/v1/incidents?status=gone")
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_status"


@pytest.mark.django_db
def test_an_absurd_incident_id_is_not_found_not_a_crash(world, api):
    answer = api(world.agent).get(f"/api/v1/incidents/{2**70}")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
