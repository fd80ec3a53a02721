"""REST API v1, tickets: create, list (filters, keyset pages, sorts), get, events, reply, note,
transition, assign, classification, merge, attachments — and the query counts of the hot reads."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from posdesk.audit.models import AuditEntry
from posdesk.contact.models import ContactDecision
from posdesk.core.taxonomy import Status
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket, TicketAttachment, TicketEvent
from posdesk.tickets.services import ticket_add_note, ticket_assign, ticket_reply, ticket_transition
from posdesk.tickets.tests.builders import drive_to, exe_bytes, image_bytes, pdf_bytes, png_bytes

JSON = "application/json"


def post(client, url, data, **headers):
    return client.post(url, data=data, content_type=JSON, headers=headers)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    assert body["message"]
    return body


def rows(world):
    return Ticket.objects.count(), TicketEvent.objects.count(), AuditEntry.objects.count()


# --- create -------------------------------------------------------------------------------


def test_agent_reports_a_fault_by_mid_and_sn(world, api):
    response = post(
        api(world.agent),
        "/api/v1/tickets",
        {
            "text": "刷卡没反应，屏幕显示A0",
            "mid": world.merchant.mid,
            "sn": "n7nl00000001",
            "channel": "phone",
        },
    )
    assert response.status_code == 201
    body = response.json()
    ticket = Ticket.objects.get()
    assert body["id"] == ticket.pk
    assert body["number"] == ticket.number and body["number"].startswith("T")
    assert (body["status"], body["category"], body["priority"], body["channel"]) == (
        "new",
        "consultation",
        "P3",
        "phone",
    )
    assert body["merchant"] == {"id": world.merchant.pk, "mid": world.merchant.mid, "name": "西湖便利店"}
    assert body["terminal"] == {"id": world.terminal.pk, "sn": "N7NL00000001", "tid": "10000001"}
    assert body["description"] == "刷卡没反应，屏幕显示A0"
    assert "triaged" in body["allowed_transitions"]


def test_a_create_is_a_fixed_handful_of_statements(world, api, settings):
    """The hot write path (bench/RESULTS.md): token, terminal, idempotency check, the
    acknowledgement's route (primary mobile) and the contact gate's facts, then in one transaction
    the number, the ticket, its event, its audit entry, the outbox message, the gate's decision and
    the idempotency record — on PostgreSQL the keys taken at once and the five rows and the record
    written as one statement (core.rows.rows_together)."""
    settings.JOB_KICK_WINDOW_SECONDS = 60  # the jobs the commit starts go to the broker, not inline
    client = api(world.agent)
    body = {"text": "打印机不出纸", "mid": world.merchant.mid, "sn": "N7NL00000001", "channel": "api"}
    post(client, "/api/v1/tickets", body, **{"Idempotency-Key": "warm-up"})  # first-use compilation
    with CaptureQueriesContext(connection) as create:
        response = post(client, "/api/v1/tickets", body, **{"Idempotency-Key": "counted"})
    assert response.status_code == 201
    statements = [q["sql"] for q in create.captured_queries
                  if not q["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))]
    assert len(statements) <= (8 if connection.vendor == "postgresql" else 12), "\n".join(statements)
    if connection.vendor == "postgresql":
        together = [sql for sql in statements if sql.startswith("WITH")]
        assert len(together) == 1 and together[0].count("INSERT INTO") == 6, statements


def _verb(sql: str) -> str:
    """A statement's kind; rows written together (`WITH w0 AS (INSERT …) … INSERT …`) are INSERT."""
    if sql.startswith("WITH ") and re.fullmatch(r"WITH (w\d+ AS \(INSERT INTO .*\), )*w\d+ AS \(INSERT INTO .*\) "
                                               r"INSERT INTO .*", sql, flags=re.DOTALL):
        return "INSERT"
    return sql.lstrip().split(None, 1)[0].upper()


def test_a_create_reads_everything_before_its_first_write(world, api, settings):
    """The write transaction only writes (on SQLite it holds the database's one write lock): the
    token, terminal, idempotency record, the acknowledgement's route (the primary mobile) and the
    contact gate's facts are all read before the ticket number is taken."""
    settings.JOB_KICK_WINDOW_SECONDS = 60
    client = api(world.agent)
    body = {"text": "打印机不出纸", "mid": world.merchant.mid, "sn": "N7NL00000001", "channel": "api"}
    post(client, "/api/v1/tickets", body, **{"Idempotency-Key": "warm-up"})
    with CaptureQueriesContext(connection) as create:
        response = post(client, "/api/v1/tickets", body, **{"Idempotency-Key": "reads-first"})
    assert response.status_code == 201
    statements = [_verb(q["sql"]) for q in create.captured_queries
                  if not q["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))]
    first_write = next(i for i, verb in enumerate(statements) if verb in ("INSERT", "UPDATE"))
    assert "SELECT" in statements[:first_write]  # the reads are there, before
    assert set(statements[first_write:]) <= {"INSERT", "UPDATE"}, statements
    # and the acknowledgement they prepared went out, under the new ticket's number
    ticket = Ticket.objects.get(number=response.json()["number"])
    message = OutboxMessage.objects.get(ticket_id=ticket.pk)
    assert ticket.number in message.body
    assert ContactDecision.objects.get(ticket_id=ticket.pk).outbox_message_id == message.pk


def test_merchant_reports_a_fault_by_merchant_id_and_tid(world, api):
    response = post(
        api(world.merchant_user),
        "/api/v1/tickets",
        {
            "text": "打印机不出纸",
            "merchant_id": world.merchant.pk,
            "tid": "10000001",
            "category": "hardware",
            "priority": "P1",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["terminal"]["tid"] == "10000001"
    assert (body["channel"], body["category"], body["priority"]) == ("api", "consultation", "P3")
    assert body["allowed_transitions"] == ["cancelled"]


def test_desk_may_classify_when_reporting(world, api):
    body = post(
        api(world.agent),
        "/api/v1/tickets",
        {"text": "重复扣款", "mid": world.merchant.mid, "category": "transaction", "priority": "P1"},
    ).json()
    assert (body["category"], body["priority"]) == ("transaction", "P1")


def test_a_terminal_of_another_merchant_is_refused_and_nothing_created(world, api):
    before = rows(world)
    response = post(
        api(world.agent),
        "/api/v1/tickets",
        {"text": "坏了", "mid": world.merchant.mid, "sn": world.other_terminal.sn},
    )
    assert_error(response, 422, "terminal_not_of_merchant")
    # a merchant cannot even learn that the other terminal exists
    response = post(
        api(world.merchant_user),
        "/api/v1/tickets",
        {"text": "坏了", "mid": world.merchant.mid, "tid": world.other_terminal.tid},
    )
    assert_error(response, 404, "terminal_not_found")
    assert rows(world) == before


def test_merchant_cannot_report_for_another_merchant(world, api):
    before = rows(world)
    assert_error(
        post(api(world.merchant_user), "/api/v1/tickets", {"text": "坏了", "mid": world.other_merchant.mid}),
        404,
        "merchant_not_found",
    )
    assert_error(
        post(
            api(world.merchant_user),
            "/api/v1/tickets",
            {"text": "坏了", "merchant_id": world.other_merchant.pk},
        ),
        404,
        "merchant_not_found",
    )
    assert rows(world) == before


def test_the_merchant_must_be_given(world, api):
    assert_error(post(api(world.agent), "/api/v1/tickets", {"text": "坏了"}), 422, "merchant_required")


# --- list ---------------------------------------------------------------------------------


@pytest.fixture
def queue(world, open_ticket):
    """Six tickets that differ in every filtered field."""
    q = type("Queue", (), {})()
    q.printer = open_ticket(
        text="打印机不出纸", terminal=world.terminal, category="hardware", priority="P2", channel="phone"
    )
    q.debit = open_ticket(text="重复扣款", category="transaction", priority="P1", channel="wechat")
    q.other = open_ticket(
        merchant=world.other_merchant,
        terminal=world.other_terminal,
        text="没有信号",
        category="network",
        priority="P2",
        channel="sms",
    )
    q.question = open_ticket(text="怎么退押金", category="fees", priority="P4", channel="portal")
    q.resolved = open_ticket(text="签到失败", category="software", priority="P3")
    q.cancelled = open_ticket(text="不用了", category="consultation", priority="P4")
    ticket_assign(ticket=q.printer, actor=world.agent, assignee=world.agent, team=world.team)
    ticket_assign(ticket=q.debit, actor=world.agent, assignee=world.agent2)
    ticket_transition(ticket=q.resolved, actor=world.agent, to_status=Status.RESOLVED)
    ticket_transition(ticket=q.cancelled, actor=world.agent, to_status=Status.CANCELLED, reason="商户撤销")
    ticket_transition(ticket=q.question, actor=world.agent, to_status=Status.WAITING_MERCHANT)
    return q


def _listed(client, query=""):
    response = client.get(f"/api/v1/tickets{query}")
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["items"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"printer", "debit", "other", "question", "resolved", "cancelled"}),
        ("?status=new", {"printer", "debit", "other"}),
        ("?status=resolved,cancelled", {"resolved", "cancelled"}),
        ("?open=true", {"printer", "debit", "other", "question"}),
        ("?priority=P1", {"debit"}),
        ("?priority=P2,P4", {"printer", "other", "question", "cancelled"}),
        ("?category=hardware,network", {"printer", "other"}),
        ("?channel=wechat", {"debit"}),
        ("?assignee=me", {"printer"}),
        ("?assignee=none", {"other", "question", "resolved", "cancelled"}),
        ("?district=binjiang", {"other"}),
        ("?status=new&priority=P2&district=xihu", {"printer"}),
    ],
)
def test_each_filter_narrows_the_list(world, api, queue, query, expected):
    assert _listed(api(world.agent), query) == {getattr(queue, name).pk for name in expected}


def test_filters_by_team_assignee_merchant_and_terminal_ids(world, api, queue):
    client = api(world.agent)
    assert _listed(client, f"?team={world.team.pk}") == {queue.printer.pk}
    assert _listed(client, f"?assignee={world.agent2.pk}") == {queue.debit.pk}
    assert _listed(client, f"?merchant_id={world.other_merchant.pk}") == {queue.other.pk}
    assert _listed(client, f"?terminal_id={world.terminal.pk}") == {queue.printer.pk}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("number", {"printer"}),
        ("898330160120099", {"other"}),  # MID
        ("10000002", {"other"}),  # TID
        ("paxs900000002", {"other"}),  # SN, any case
        ("139-0000-1111", {"other"}),  # a contact's mobile
        ("滨江", {"other"}),  # part of the merchant's name
    ],
)
def test_search_finds_by_number_mid_tid_sn_mobile_or_name(world, api, queue, search, expected):
    q = queue.printer.number.lower() if search == "number" else search
    assert _listed(api(world.agent), f"?q={q}") == {getattr(queue, name).pk for name in expected}


def test_merchant_lists_only_their_own_tickets(world, api, queue):
    listed = _listed(api(world.merchant_user))
    assert queue.other.pk not in listed
    assert listed == {
        queue.printer.pk,
        queue.debit.pk,
        queue.question.pk,
        queue.resolved.pk,
        queue.cancelled.pk,
    }
    # searching for another merchant's ticket finds nothing
    assert _listed(api(world.merchant_user), f"?q={queue.other.number}") == set()


def test_the_list_answer_carries_rows_count_and_cursor(world, api, queue):
    body = api(world.agent).get("/api/v1/tickets?limit=2").json()
    assert set(body) == {"items", "next_cursor", "count", "count_capped"}
    assert (len(body["items"]), body["count"], body["count_capped"]) == (2, 6, False)
    assert body["next_cursor"]
    row = body["items"][0]
    assert set(row) >= {
        "id",
        "number",
        "status",
        "category",
        "priority",
        "channel",
        "subject",
        "merchant",
        "terminal",
        "district",
        "team",
        "assignee",
        "created_at",
        "updated_at",
    }


SORT_KEYS = {
    "-created_at": lambda t: (-t.created_at.timestamp(), -t.pk),
    "created_at": lambda t: (t.created_at.timestamp(), t.pk),
    "-updated_at": lambda t: (-t.updated_at.timestamp(), -t.pk),
    "priority": lambda t: (t.priority, -t.created_at.timestamp(), -t.pk),
}


@pytest.fixture
def thirty(world, open_ticket):
    """30 tickets whose sort keys tie in groups, so pages must break ties by id."""
    base = timezone.now().replace(microsecond=0) - timedelta(days=1)
    tickets = [open_ticket(text=f"第{i}号故障") for i in range(30)]
    for i, ticket in enumerate(tickets):
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=base + timedelta(minutes=i // 3),
            updated_at=base + timedelta(minutes=i % 5),
            priority=f"P{i % 4 + 1}",
            status=Status.IN_PROGRESS if i % 2 else Status.NEW,
        )
    return list(Ticket.objects.all())


@pytest.mark.parametrize("sort", list(SORT_KEYS))
@pytest.mark.parametrize("filtered", [False, True])
def test_pages_follow_the_cursor_without_gaps_or_duplicates(world, api, thirty, sort, filtered):
    client = api(world.agent)
    expected = [t.pk for t in sorted(thirty, key=SORT_KEYS[sort]) if not filtered or t.status == Status.NEW]
    seen, cursor, pages = [], None, 0
    while True:
        query = (
            f"?sort={sort}&limit=7"
            + ("&status=new" if filtered else "")
            + (f"&cursor={cursor}" if cursor else "")
        )
        body = client.get(f"/api/v1/tickets{query}").json()
        seen += [row["id"] for row in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        assert body["count"] == len(expected)
        if not cursor:
            break
    assert seen == expected
    assert pages == -(-len(expected) // 7)


def test_the_list_reads_a_constant_number_of_queries(world, api, open_ticket, django_assert_max_num_queries):
    client = api(world.agent)
    client.get("/api/v1/me")  # the token's first use writes last_used_at; later uses only read

    def spread(n: int) -> None:
        for i in range(n):
            ticket = open_ticket(terminal=world.terminal if i % 2 else None)
            ticket_assign(
                ticket=ticket,
                actor=world.agent,
                team=world.team,
                assignee=world.agent if i % 3 else world.agent2,
            )

    spread(3)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/api/v1/tickets?limit=100").json()["items"]) == 3
    spread(27)
    with django_assert_max_num_queries(len(few)):
        assert len(client.get("/api/v1/tickets?limit=100").json()["items"]) == 30
    assert len(few) <= 4  # token, count, page


def test_the_ticket_and_its_timeline_read_a_constant_number_of_queries(
    world, api, open_ticket, django_assert_max_num_queries
):
    from posdesk.tickets.attachments import check_uploads

    client = api(world.agent)
    client.get("/api/v1/me")
    ticket = open_ticket(terminal=world.terminal)

    def grow(n: int) -> None:
        for i in range(n):
            ticket_reply(
                ticket=ticket,
                actor=world.agent if i % 2 else world.merchant_user,
                body=f"回复{i}",
                attachments=check_uploads([(f"p{i}.png", png_bytes())]),
            )
            ticket_add_note(ticket=ticket, actor=world.agent2, body=f"备注{i}")

    grow(1)
    with CaptureQueriesContext(connection) as few_detail:
        client.get(f"/api/v1/tickets/{ticket.pk}")
    with CaptureQueriesContext(connection) as few_events:
        client.get(f"/api/v1/tickets/{ticket.pk}/events")
    grow(15)
    with django_assert_max_num_queries(len(few_detail)):
        assert client.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    with django_assert_max_num_queries(len(few_events)):
        events = client.get(f"/api/v1/tickets/{ticket.pk}/events").json()
    assert len(events) > 30
    assert len(few_events) <= 5


# --- one ticket ---------------------------------------------------------------------------


def test_get_answers_the_ticket_with_its_moves_for_the_caller(world, api, open_ticket):
    ticket = open_ticket(terminal=world.terminal)
    drive_to(ticket, Status.PENDING_ACCEPTANCE, actor=world.agent)
    as_merchant = api(world.merchant_user).get(f"/api/v1/tickets/{ticket.pk}").json()
    as_agent = api(world.agent).get(f"/api/v1/tickets/{ticket.pk}").json()
    assert as_merchant["allowed_transitions"] == ["in_progress", "resolved"]
    assert as_agent["allowed_transitions"] == ["in_progress", "resolved"]
    assert as_agent["status"] == "pending_acceptance"


@pytest.mark.parametrize("path", ["", "/events"])
def test_merchant_cannot_see_another_merchants_ticket(world, api, open_ticket, path):
    other = open_ticket(merchant=world.other_merchant)
    assert_error(api(world.merchant_user).get(f"/api/v1/tickets/{other.pk}{path}"), 404, "ticket_not_found")


def test_merchant_sees_only_public_events(world, api, open_ticket):
    ticket = open_ticket()
    ticket_add_note(ticket=ticket, actor=world.agent, body="内部：疑似套现")
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.agent)
    ticket_reply(ticket=ticket, actor=world.agent, body="您好，请重启一下")
    kinds_merchant = [
        e["kind"] for e in api(world.merchant_user).get(f"/api/v1/tickets/{ticket.pk}/events").json()
    ]
    kinds_agent = [e["kind"] for e in api(world.agent).get(f"/api/v1/tickets/{ticket.pk}/events").json()]
    assert kinds_merchant == ["created", "reply", "status_changed"]
    assert kinds_agent == ["created", "note", "assigned", "reply", "status_changed"]


def test_merchant_replies_and_the_reply_is_public(world, api, open_ticket):
    ticket = open_ticket()
    response = post(
        api(world.merchant_user), f"/api/v1/tickets/{ticket.pk}/replies", {"body": "今天还是不行"}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["is_public"], body["body"], body["actor"]["id"]) == (
        "reply",
        True,
        "今天还是不行",
        world.merchant_user.pk,
    )


def test_agent_reply_starts_work(world, api, open_ticket):
    ticket = open_ticket()
    post(api(world.agent), f"/api/v1/tickets/{ticket.pk}/replies", {"body": "马上安排"})
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS and ticket.first_response_at is not None


def test_merchant_may_not_write_internal_notes(world, api, open_ticket):
    ticket = open_ticket()
    before = rows(world)
    assert_error(
        post(api(world.merchant_user), f"/api/v1/tickets/{ticket.pk}/notes", {"body": "我也想写备注"}),
        403,
        "forbidden",
    )
    assert rows(world) == before
    response = post(api(world.agent), f"/api/v1/tickets/{ticket.pk}/notes", {"body": "疑似主板故障"})
    assert response.status_code == 201
    assert response.json()["is_public"] is False


def test_a_closed_ticket_takes_no_replies(world, api, open_ticket):
    ticket = open_ticket()
    ticket_transition(ticket=ticket, actor=world.agent, to_status=Status.CANCELLED, reason="重复报修")
    assert_error(
        post(api(world.merchant_user), f"/api/v1/tickets/{ticket.pk}/replies", {"body": "?"}),
        403,
        "reply_not_allowed",
    )


def test_transition_moves_the_ticket_and_answers_it(world, api, open_ticket):
    ticket = open_ticket()
    response = post(
        api(world.agent),
        f"/api/v1/tickets/{ticket.pk}/transitions",
        {"to_status": "waiting_merchant", "reason": "等商户提供小票"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "waiting_merchant"
    event = ticket.events.latest("id")
    assert (event.from_status, event.to_status, event.reason, event.actor) == (
        "new",
        "waiting_merchant",
        "等商户提供小票",
        world.agent,
    )


def test_an_illegal_transition_is_409_with_the_allowed_moves(world, api, open_ticket):
    ticket = open_ticket()
    before = rows(world)
    body = assert_error(
        post(api(world.agent), f"/api/v1/tickets/{ticket.pk}/transitions", {"to_status": "closed"}),
        409,
        "illegal_transition",
    )
    assert body["detail"]["from"] == "new" and body["detail"]["to"] == "closed"
    assert "triaged" in body["detail"]["allowed"]
    assert rows(world) == before


def test_merchant_may_not_resolve_their_own_ticket(world, api, open_ticket):
    ticket = open_ticket()
    assert_error(
        post(api(world.merchant_user), f"/api/v1/tickets/{ticket.pk}/transitions", {"to_status": "resolved"}),
        403,
        "transition_not_allowed",
    )


def test_merchant_cancels_with_a_reason_only(world, api, open_ticket):
    ticket = open_ticket()
    client = api(world.merchant_user)
    assert_error(
        post(client, f"/api/v1/tickets/{ticket.pk}/transitions", {"to_status": "cancelled"}),
        422,
        "reason_required",
    )
    response = post(
        client, f"/api/v1/tickets/{ticket.pk}/transitions", {"to_status": "cancelled", "reason": "重启后好了"}
    )
    assert response.json()["status"] == "cancelled"


# --- assign, classify, merge --------------------------------------------------------------


def test_agent_assigns_team_and_person_and_null_clears(world, api, open_ticket):
    ticket = open_ticket()
    client = api(world.agent)
    body = post(
        client,
        f"/api/v1/tickets/{ticket.pk}/assignment",
        {"team_id": world.team.pk, "assignee_id": world.agent2.pk},
    ).json()
    assert (body["team"]["id"], body["assignee"]["id"]) == (world.team.pk, world.agent2.pk)
    body = post(client, f"/api/v1/tickets/{ticket.pk}/assignment", {"assignee_id": None}).json()
    assert (body["team"]["id"], body["assignee"]) == (world.team.pk, None)


def test_assignment_needs_a_field_and_known_ids(world, api, open_ticket):
    ticket = open_ticket()
    client = api(world.agent)
    assert_error(post(client, f"/api/v1/tickets/{ticket.pk}/assignment", {}), 422, "nothing_to_assign")
    body = assert_error(
        post(client, f"/api/v1/tickets/{ticket.pk}/assignment", {"assignee_id": 999999}),
        422,
        "invalid_reference",
    )
    assert body["detail"] == {"field": "assignee_id"}


def test_vendor_rules_through_the_api(world, api, open_ticket):
    # the desk gives the ticket to the vendor
    ticket = open_ticket()
    body = post(
        api(world.agent), f"/api/v1/tickets/{ticket.pk}/assignment", {"vendor_id": world.vendor_org.pk}
    ).json()
    assert body["vendor"]["id"] == world.vendor_org.pk
    vendor = api(world.vendor)
    # the vendor dispatches it to its own technician
    assert (
        post(
            vendor, f"/api/v1/tickets/{ticket.pk}/assignment", {"assignee_id": world.vendor_tech.pk}
        ).status_code
        == 200
    )
    # but may neither pass it to another vendor nor to the service company's agent
    assert_error(
        post(vendor, f"/api/v1/tickets/{ticket.pk}/assignment", {"vendor_id": world.other_vendor_org.pk}),
        403,
        "assign_not_allowed",
    )
    assert_error(
        post(vendor, f"/api/v1/tickets/{ticket.pk}/assignment", {"assignee_id": world.agent.pk}),
        422,
        "invalid_assignee",
    )
    # the service company itself is no vendor
    assert_error(
        post(api(world.agent), f"/api/v1/tickets/{ticket.pk}/assignment", {"vendor_id": world.org.pk}),
        422,
        "invalid_vendor",
    )


def test_a_vendor_cannot_touch_a_ticket_not_given_to_it(world, api, open_ticket):
    ticket = open_ticket()
    assert_error(
        post(
            api(world.vendor),
            f"/api/v1/tickets/{ticket.pk}/assignment",
            {"assignee_id": world.vendor_tech.pk},
        ),
        404,
        "ticket_not_found",
    )


def test_technician_may_not_assign(world, api, open_ticket):
    ticket = open_ticket()
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.technician)
    assert_error(
        post(
            api(world.technician), f"/api/v1/tickets/{ticket.pk}/assignment", {"assignee_id": world.agent.pk}
        ),
        403,
        "assign_not_allowed",
    )


def test_classification_by_the_desk_only(world, api, open_ticket):
    ticket = open_ticket()
    body = post(
        api(world.agent),
        f"/api/v1/tickets/{ticket.pk}/classification",
        {"category": "hardware", "priority": "P1"},
    ).json()
    assert (body["category"], body["priority"]) == ("hardware", "P1")
    assert_error(
        post(api(world.merchant_user), f"/api/v1/tickets/{ticket.pk}/classification", {"priority": "P4"}),
        403,
        "forbidden",
    )
    assert_error(
        post(api(world.agent), f"/api/v1/tickets/{ticket.pk}/classification", {"priority": "P0"}),
        422,
        "invalid_priority",
    )


@pytest.mark.parametrize("by", ["number", "id"])
def test_merge_by_number_or_id_answers_the_original(world, api, open_ticket, by):
    original, duplicate = open_ticket(), open_ticket(text="又报了一次")
    into = original.number if by == "number" else str(original.pk)
    response = post(
        api(world.agent), f"/api/v1/tickets/{duplicate.pk}/merge", {"into": into, "reason": "重复"}
    )
    assert response.status_code == 200
    assert response.json()["id"] == original.pk
    body = api(world.agent).get(f"/api/v1/tickets/{duplicate.pk}").json()
    assert (body["status"], body["merged_into"]) == ("closed", original.number)


def test_merge_refusals(world, api, open_ticket):
    original, other = open_ticket(), open_ticket(merchant=world.other_merchant)
    client = api(world.agent)
    assert_error(
        post(client, f"/api/v1/tickets/{other.pk}/merge", {"into": original.number}),
        409,
        "merge_other_merchant",
    )
    assert_error(
        post(client, f"/api/v1/tickets/{original.pk}/merge", {"into": str(original.pk)}),
        422,
        "merge_into_self",
    )
    assert_error(
        post(client, f"/api/v1/tickets/{original.pk}/merge", {"into": "T9999999999"}), 404, "ticket_not_found"
    )
    assert_error(
        post(api(world.merchant_user), f"/api/v1/tickets/{original.pk}/merge", {"into": original.number}),
        403,
        "forbidden",
    )


# --- attachments --------------------------------------------------------------------------


def _upload(client, ticket, *files, query=""):
    return client.post(
        f"/api/v1/tickets/{ticket.pk}/attachments{query}",
        {"files": [SimpleUploadedFile(name, data) for name, data in files]},
    )


def test_merchant_uploads_photos_and_a_pdf(world, api, open_ticket):
    ticket = open_ticket()
    response = _upload(api(world.merchant_user), ticket, ("小票.png", png_bytes()), ("发票.pdf", pdf_bytes()))
    assert response.status_code == 201
    body = response.json()
    assert [(a["name"], a["content_type"]) for a in body] == [
        ("小票.png", "image/png"),
        ("发票.pdf", "application/pdf"),
    ]
    assert body[0]["url"] == f"/attachments/{body[0]['id']}"
    # and the merchant can follow the URL with the same token
    download = api(world.merchant_user).get(body[0]["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == png_bytes()


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("photo.png", exe_bytes(), "attachment_type_not_allowed"),
        ("notes.jpg", "只是文字".encode(), "attachment_type_not_allowed"),
        ("big.png", image_bytes("PNG", size=(300, 300)), "attachment_too_large"),
    ],
)
def test_a_wrong_type_or_oversize_file_is_refused_and_nothing_stored(
    world, api, open_ticket, settings, name, data, code
):
    settings.ATTACHMENT_MAX_BYTES = 500
    ticket = open_ticket()
    before = rows(world)
    response = _upload(api(world.merchant_user), ticket, ("ok.png", png_bytes()), (name, data))
    assert_error(response, 422, code)
    assert rows(world) == before
    assert not TicketAttachment.objects.exists()


def test_internal_files_are_staff_only(world, api, open_ticket):
    ticket = open_ticket()
    assert_error(
        _upload(api(world.merchant_user), ticket, ("a.png", png_bytes()), query="?internal=true"),
        403,
        "forbidden",
    )
    body = _upload(api(world.agent), ticket, ("a.png", png_bytes()), query="?internal=true").json()
    assert api(world.merchant_user).get(body[0]["url"]).status_code == 404
    assert api(world.agent).get(body[0]["url"]).status_code == 200
    kinds = [e["kind"] for e in api(world.merchant_user).get(f"/api/v1/tickets/{ticket.pk}/events").json()]
    assert "attachment" not in kinds


def test_a_merchant_cannot_attach_to_another_merchants_ticket(world, api, open_ticket):
    other = open_ticket(merchant=world.other_merchant)
    assert_error(_upload(api(world.merchant_user), other, ("a.png", png_bytes())), 404, "ticket_not_found")
    assert not TicketAttachment.objects.exists()


def test_taxonomy_labels_follow_the_language(world, api):
    body = api(world.agent, "en").get("/api/v1/taxonomy").json()
    assert {"code": "hardware", "label": "Hardware fault"} in body["category"]
    assert [s["code"] for s in body["status"]][0] == "new"


def test_a_ticket_number_is_unique_across_many_creates(world, api):
    client = api(world.agent)
    numbers = {
        post(client, "/api/v1/tickets", {"text": f"故障{i}", "mid": world.merchant.mid}).json()["number"]
        for i in range(12)
    }
    assert len(numbers) == 12


def test_a_nul_character_in_a_report_is_dropped_on_every_database(world, api):
    response = post(
        api(world.agent), "/api/v1/tickets", {"text": "刷卡\u0000没反应", "mid": world.merchant.mid}
    )
    assert response.status_code == 201
    assert response.json()["description"] == "刷卡没反应"
    ticket = Ticket.objects.get()
    reply = post(api(world.agent), f"/api/v1/tickets/{ticket.pk}/replies", {"body": "\u0000收到"})
    assert reply.json()["body"] == "收到"
    moved = post(
        api(world.agent),
        f"/api/v1/tickets/{ticket.pk}/transitions",
        {"to_status": "cancelled", "reason": "重复\u0000报修"},
    )
    assert moved.status_code == 200
    assert ticket.events.latest("id").reason == "重复报修"
