"""Console and portal pages of incidents (C7): the desk's list and detail, the supervisor's forms,
the badge on a linked ticket, and the notice a merchant sees in the portal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from posdesk.incidents.models import Incident, IncidentEvent
from posdesk.incidents.services import incidents_observe
from posdesk.incidents.tests.builders import incident_linking, merchants_in, signal_of, tickets_at

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def incident(world):
    tickets = tickets_at(merchants_in("xihu", 8), [START + timedelta(seconds=i) for i in range(24)])
    with time_machine.travel(START + timedelta(seconds=30), tick=False):
        incidents_observe(signals=[signal_of(t) for t in tickets])
    return Incident.objects.get()


@pytest.mark.django_db
def test_an_agent_reads_the_incident_list_in_a_fixed_number_of_queries(world, incident,
                                                                       django_assert_max_num_queries):
    client = signed_in(world.agent)
    with django_assert_max_num_queries(8):
        page = client.get("/console/incidents/")
    assert page.status_code == 200
    html = page.content.decode()
    assert incident.number in html and 'id="nav-incidents"' in html
    assert 'data-status="open"' in html


@pytest.mark.django_db
def test_the_detail_shows_tickets_and_summary_and_only_supervisors_get_the_forms(world, incident,
                                                                                 django_assert_max_num_queries):
    agent = signed_in(world.agent)
    with django_assert_max_num_queries(10):
        agent_page = agent.get(f"/console/incidents/{incident.pk}/")
    assert agent_page.status_code == 200
    html = agent_page.content.decode()
    assert 'id="summary-tickets">24<' in html and 'id="summary-merchants">8<' in html
    assert html.count('class="mono">T9') == 24
    assert 'id="incident-update-form"' not in html
    supervisor_html = signed_in(world.supervisor).get(f"/console/incidents/{incident.pk}/").content.decode()
    assert 'id="incident-update-form"' in supervisor_html and 'id="incident-resolve-form"' in supervisor_html


@pytest.mark.django_db
def test_a_supervisor_posts_an_update_and_resolves_from_the_page(world, incident,
                                                                  django_capture_on_commit_callbacks):
    client = signed_in(world.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(f"/console/incidents/{incident.pk}/update/",
                             {"body": "备用线路已启用", "public": "on", "broadcast": "on"})
        resolved = client.post(f"/console/incidents/{incident.pk}/resolve/", {"resolution": "resolve"})
    assert posted.status_code == resolved.status_code == 302
    assert IncidentEvent.objects.get(kind="update").broadcast_sent == 8
    incident.refresh_from_db()
    assert incident.status == "resolved" and not incident.links.filter(ticket__status="new").exists()


@pytest.mark.django_db
def test_a_refused_action_is_shown_on_the_page_and_changes_nothing(world, incident):
    client = signed_in(world.supervisor)
    answer = client.post(f"/console/incidents/{incident.pk}/status/", {"to_status": "dismissed"}, follow=True)
    assert answer.status_code == 200
    assert "不能从" in answer.content.decode()  # zh-Hans by default: the illegal move explained
    incident.refresh_from_db()
    assert incident.status == "open"


@pytest.mark.django_db
def test_an_agent_cannot_act_on_an_incident(world, incident):
    answer = signed_in(world.agent).post(f"/console/incidents/{incident.pk}/resolve/", {"resolution": "resolve"})
    assert answer.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "open"


@pytest.mark.django_db
def test_a_linked_ticket_shows_the_incident_badge_and_others_do_not(world, open_ticket):
    linked = open_ticket(text="交易失败 返回码96")
    other = open_ticket(text="打印机不出纸")
    incident = incident_linking([linked])
    client = signed_in(world.agent)
    html = client.get(f"/console/tickets/{linked.pk}/").content.decode()
    assert 'id="incident-badge"' in html and incident.number in html
    assert 'id="incident-badge"' not in client.get(f"/console/tickets/{other.pk}/").content.decode()


@pytest.mark.django_db
def test_a_merchant_sees_the_outage_affecting_them_in_the_portal(world, open_ticket):
    # given an open incident scoped to the merchant's district, and a merchant elsewhere
    incident = incident_linking([])
    Incident.objects.filter(pk=incident.pk).update(
        scope_key=f"r=96;d={world.merchant.district_id}", scope={"response_code": "96",
                                                               "district_id": world.merchant.district_id},
        eta=START + timedelta(hours=3))
    html = signed_in(world.merchant_user).get("/portal/").content.decode()
    assert 'id="incident-notice"' in html and incident.title in html and "无需重复报修" in html

    # when it is resolved, the notice goes
    Incident.objects.filter(pk=incident.pk).update(status="resolved")
    assert 'id="incident-notice"' not in signed_in(world.merchant_user).get("/portal/").content.decode()


@pytest.mark.django_db
def test_an_outage_in_another_district_is_not_shown_to_the_merchant(world):
    incident = incident_linking([])
    Incident.objects.filter(pk=incident.pk).update(scope={"response_code": "96",
                                                          "district_id": world.other_merchant.district_id})
    assert 'id="incident-notice"' not in signed_in(world.merchant_user).get("/portal/").content.decode()


@pytest.mark.django_db
def test_the_admin_reads_incidents_and_baselines_but_cannot_edit_them(world, incident):
    client = signed_in(world.admin)
    assert client.get("/admin/incidents/incident/").status_code == 200
    assert client.get(f"/admin/incidents/incident/{incident.pk}/change/").status_code == 200
    assert client.get("/admin/incidents/detectorbaseline/").status_code == 200
    assert client.get("/admin/incidents/incident/add/").status_code == 403
