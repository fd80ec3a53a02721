"""Routing through the API: presence and take-next."""

from __future__ import annotations

from posdesk.routing.models import AgentStatus
from posdesk.tickets.services import ticket_assign


def test_an_agent_sets_presence_and_bad_values_change_nothing(world, api):
    client = api(world.agent, "en")
    answer = client.post("/api/v1/me/presence", {"presence": "online"}, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["presence"] == "online"
    bad = api(world.agent, "zh-hans").post("/api/v1/me/presence", {"presence": "busy"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_presence"
    assert AgentStatus.objects.get(user=world.agent).presence == "online"


def test_take_next_gives_the_most_urgent_waiting_ticket_then_nothing(world, api, open_ticket):
    p3 = open_ticket(priority="P3", category="fees")
    p1 = open_ticket(priority="P1", category="hardware")
    for ticket in (p3, p1):
        ticket_assign(ticket=ticket, actor=world.supervisor, team=world.team)
    client = api(world.agent, "en")
    first = client.post("/api/v1/queue/take-next")
    assert first.status_code == 200
    assert (first.json()["number"], first.json()["assignee"]["id"]) == (p1.number, world.agent.pk)
    assert client.post("/api/v1/queue/take-next").json()["number"] == p3.number
    assert client.post("/api/v1/queue/take-next").status_code == 204


def test_take_next_refuses_an_agent_at_capacity(world, api, open_ticket):
    AgentStatus.objects.create(user=world.agent, capacity=1)
    for _ in range(2):
        ticket_assign(ticket=open_ticket(), actor=world.supervisor, team=world.team)
    client = api(world.agent, "en")
    assert client.post("/api/v1/queue/take-next").status_code == 200
    full = client.post("/api/v1/queue/take-next")
    assert full.status_code == 409 and full.json()["code"] == "agent_at_capacity"
