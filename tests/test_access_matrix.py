"""The one authorisation matrix: every API operation and every page × every role (anonymous included)
→ the expected HTTP status. A new endpoint or page without a row here fails `test_matrix_covers_…`."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest
from django.test import Client
from PIL import Image

from posdesk.tickets.services import ticket_assign, ticket_open

ROLES = ["anonymous", "merchant", "agent", "technician", "vendor", "supervisor", "admin"]
DESK = {"agent", "supervisor", "admin"}


def expect(default: int, **by_role: int) -> dict[str, int]:
    table = {role: default for role in ROLES}
    table.update(by_role)
    return table


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Scene:
    world: Any
    ticket: Any  # world.merchant's ticket, assigned to the technician and the vendor
    other_ticket: Any  # another merchant's, unassigned
    duplicate: Any  # a second ticket of world.merchant, for merges
    ids: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def scene(world) -> Scene:
    w = world
    ticket = ticket_open(actor=w.merchant_user, merchant=w.merchant, terminal=w.terminal, text="打印机不出纸",
                         channel="portal")
    ticket_assign(ticket=ticket, actor=w.agent, assignee=w.technician, vendor=w.vendor_org, team=w.team)
    other = ticket_open(actor=w.agent, merchant=w.other_merchant, text="押金什么时候退", channel="phone")
    duplicate = ticket_open(actor=w.merchant_user, merchant=w.merchant, text="打印机还是不出纸", channel="portal")
    s = Scene(world=w, ticket=ticket, other_ticket=other, duplicate=duplicate)
    from posdesk.knowledge.services import ArticleData, article_create  # the knowledge rows (C5)

    article = article_create(actor=w.admin, data=ArticleData(title="打印机不出纸", category="hardware", slug="printer",
                                                            status="published"))
    internal = article_create(actor=w.admin, data=ArticleData(title="主密钥灌装", category="software", slug="keys",
                                                             status="published", audience="internal"))
    s.ids = {"article": article.slug, "internal_article": internal.slug, 
        "ticket": ticket.pk, "other_ticket": other.pk, "duplicate": duplicate.pk, "merchant": w.merchant.pk,
        "other_merchant": w.other_merchant.pk, "contact": w.contact.pk, "terminal": w.terminal.pk,
        "other_terminal": w.other_terminal.pk,
    }
    from posdesk.incidents.tests.builders import incident_linking

    s.ids["incident"] = incident_linking([ticket]).pk  # an open incident with world.merchant's ticket
    from posdesk.triage.pipeline import tickets_triage  # the other merchant's ticket is triaged (C6)

    tickets_triage(ticket_ids=[other.pk])
    return s


@dataclass
class Case:
    method: str
    path: str  # with {ticket}, {merchant} … placeholders from Scene.ids
    expected: dict[str, int]
    body: Callable[[Scene], Any] | None = None
    multipart: bool = False
    openapi_path: str = ""  # the operation this case stands for (API cases)


# --- the REST API ------------------------------------------------------------------------------

API = "/api/v1"
ALL_OK = expect(200, anonymous=401)
API_CASES = [
    Case("get", "/me", ALL_OK, openapi_path="/me"),
    Case("get", "/taxonomy", ALL_OK, openapi_path="/taxonomy"),
    Case("post", "/me/presence", expect(403, anonymous=401, agent=200, supervisor=200),
         body=lambda s: {"presence": "away"}, openapi_path="/me/presence"),
    Case("post", "/queue/take-next", expect(403, anonymous=401, agent=204, supervisor=204),
         openapi_path="/queue/take-next"),
    Case("get", "/sla/attainment", expect(403, anonymous=401, supervisor=200, admin=200),
         openapi_path="/sla/attainment"),
    Case("get", "/sla/tickets?state=at_risk", expect(403, anonymous=401, supervisor=200, admin=200),
         openapi_path="/sla/tickets"),
    Case("get", "/tickets", ALL_OK, openapi_path="/tickets"),
    Case("post", "/tickets", expect(201, anonymous=401, technician=403, vendor=403),
         body=lambda s: {"text": "刷卡没反应", "mid": s.world.merchant.mid, "sn": s.world.terminal.sn},
         openapi_path="/tickets"),
    Case("get", "/tickets/{ticket}", ALL_OK, openapi_path="/tickets/{ticket_id}"),
    Case("get", "/tickets/{other_ticket}", expect(200, anonymous=401, merchant=404, technician=404, vendor=404),
         openapi_path="/tickets/{ticket_id}"),
    Case("get", "/tickets/{ticket}/events", ALL_OK, openapi_path="/tickets/{ticket_id}/events"),
    Case("post", "/tickets/{ticket}/replies", expect(201, anonymous=401), body=lambda s: {"body": "您好"},
         openapi_path="/tickets/{ticket_id}/replies"),
    Case("post", "/tickets/{other_ticket}/replies",
         expect(201, anonymous=401, merchant=404, technician=404, vendor=404), body=lambda s: {"body": "您好"},
         openapi_path="/tickets/{ticket_id}/replies"),
    Case("post", "/tickets/{ticket}/notes", expect(201, anonymous=401, merchant=403),
         body=lambda s: {"body": "内部备注"}, openapi_path="/tickets/{ticket_id}/notes"),
    Case("post", "/tickets/{ticket}/transitions", expect(200, anonymous=401, merchant=403, technician=403, vendor=403),
         body=lambda s: {"to_status": "triaged"}, openapi_path="/tickets/{ticket_id}/transitions"),
    Case("post", "/tickets/{ticket}/assignment", expect(200, anonymous=401, merchant=403, technician=403),
         body=lambda s: {"assignee_id": s.world.vendor_tech.pk}, openapi_path="/tickets/{ticket_id}/assignment"),
    Case("post", "/tickets/{ticket}/classification",
         expect(200, anonymous=401, merchant=403, technician=403, vendor=403),
         body=lambda s: {"category": "hardware", "priority": "P2"},
         openapi_path="/tickets/{ticket_id}/classification"),
    Case("post", "/tickets/{duplicate}/merge",
         expect(200, anonymous=401, merchant=403, technician=404, vendor=404),
         body=lambda s: {"into": s.ticket.number}, openapi_path="/tickets/{ticket_id}/merge"),
    Case("post", "/tickets/{ticket}/attachments", expect(201, anonymous=401),
         body=lambda s: {"files": [("photo.png", png_bytes())]}, multipart=True,
         openapi_path="/tickets/{ticket_id}/attachments"),
    Case("get", "/merchants", ALL_OK, openapi_path="/merchants"),
    Case("post", "/merchants", expect(403, anonymous=401, agent=201, supervisor=201, admin=201),
         body=lambda s: {"mid": "898330160129999", "name": "新开的店", "district": "xihu"},
         openapi_path="/merchants"),
    Case("get", "/merchants/{merchant}", ALL_OK, openapi_path="/merchants/{merchant_id}"),
    Case("get", "/merchants/{other_merchant}", expect(200, anonymous=401, merchant=404, technician=404, vendor=404),
         openapi_path="/merchants/{merchant_id}"),
    Case("post", "/merchants/{merchant}/contacts/{contact}/reveal", ALL_OK,
         openapi_path="/merchants/{merchant_id}/contacts/{contact_id}/reveal"),
    Case("get", "/callbacks", expect(403, anonymous=401, agent=200, supervisor=200, admin=200),
         openapi_path="/callbacks"),
    Case("post", "/callbacks/999999/take", expect(403, anonymous=401, agent=404, supervisor=404, admin=404),
         openapi_path="/callbacks/{callback_id}/take"),
    Case("post", "/callbacks/999999/complete", expect(403, anonymous=401, agent=404, supervisor=404, admin=404),
         body=lambda s: {"outcome": "reached"}, openapi_path="/callbacks/{callback_id}/complete"),
    Case("post", "/calls", expect(403, anonymous=401, agent=201, supervisor=201, admin=201),
         body=lambda s: {"merchant_id": s.world.merchant.pk, "ticket_id": s.ticket.pk, "outcome": "reached"},
         openapi_path="/calls"),
    Case("get", "/calls?direction=inbound", expect(403, anonymous=401, agent=200, supervisor=200, admin=200),
         openapi_path="/calls"),
    Case("get", "/calls/999999", expect(403, anonymous=401, agent=404, supervisor=404, admin=404),
         openapi_path="/calls/{call_record_id}"),
    Case("get", "/merchants/{merchant}/contact-summary", expect(403, anonymous=401, agent=200, supervisor=200,
                                                                 admin=200),
         openapi_path="/merchants/{merchant_id}/contact-summary"),
    Case("get", "/terminal-models", ALL_OK, openapi_path="/terminal-models"),
    # triage (C6): staff read it (a ticket not triaged yet: 404 not_triaged); the desk corrects it
    Case("get", "/tickets/{ticket}/triage", expect(404, anonymous=401, merchant=403),
         openapi_path="/tickets/{ticket_id}/triage"),
    Case("get", "/tickets/{other_ticket}/triage", expect(200, anonymous=401, merchant=404, technician=404, vendor=404),
         openapi_path="/tickets/{ticket_id}/triage"),
    Case("post", "/tickets/{other_ticket}/triage/correction",
         expect(201, anonymous=401, merchant=404, technician=404, vendor=404), body=lambda s: {"priority": "P1"},
         openapi_path="/tickets/{ticket_id}/triage/correction"),
    # incidents (C7): the desk reads; supervisors and admins act
    Case("get", "/incidents", expect(403, anonymous=401, agent=200, supervisor=200, admin=200),
         openapi_path="/incidents"),
    Case("get", "/incidents/{incident}", expect(403, anonymous=401, agent=200, supervisor=200, admin=200),
         openapi_path="/incidents/{incident_id}"),
    Case("post", "/incidents/{incident}/updates", expect(403, anonymous=401, supervisor=201, admin=201),
         body=lambda s: {"body": "主机已恢复", "broadcast": True}, openapi_path="/incidents/{incident_id}/updates"),
    Case("post", "/incidents/{incident}/status", expect(403, anonymous=401, supervisor=200, admin=200),
         body=lambda s: {"to_status": "monitoring"}, openapi_path="/incidents/{incident_id}/status"),
    Case("post", "/incidents/{incident}/eta", expect(403, anonymous=401, supervisor=200, admin=200),
         body=lambda s: {"eta": None}, openapi_path="/incidents/{incident_id}/eta"),
    Case("post", "/incidents/{incident}/resolve", expect(403, anonymous=401, supervisor=200, admin=200),
         body=lambda s: {"resolution": "release"}, openapi_path="/incidents/{incident_id}/resolve"),
    Case("get", "/terminals", ALL_OK, openapi_path="/terminals"),
    Case("post", "/terminals", expect(403, anonymous=401, agent=201, supervisor=201, admin=201),
         body=lambda s: {"sn": "N7NL99990001", "model": s.world.terminal.model.code, "tid": "19990001"},
         openapi_path="/terminals"),
    Case("get", "/terminals/{terminal}", ALL_OK, openapi_path="/terminals/{terminal_id}"),
    Case("get", "/terminals/{other_terminal}", expect(200, anonymous=401, merchant=404, technician=404, vendor=404),
         openapi_path="/terminals/{terminal_id}"),
    Case("get", "/articles?q=打印机&category=hardware", ALL_OK, openapi_path="/articles"),
    Case("get", "/articles/{article}", ALL_OK, openapi_path="/articles/{slug}"),
    Case("get", "/articles/{internal_article}", expect(200, anonymous=401, merchant=404), openapi_path="/articles/{slug}"),
    Case("get", "/response-codes/A0", ALL_OK, openapi_path="/response-codes/{code}"),
]


def _client(scene: Scene, role: str, api: Callable[..., Client]) -> Client:
    return api(None) if role == "anonymous" else api(scene.world.users[role])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", API_CASES, ids=lambda c: f"{c.method.upper()} {c.path}")
def test_api_answers_each_role_as_the_matrix_says(case: Case, role: str, scene: Scene, api) -> None:
    client = _client(scene, role, api)
    url = API + case.path.format(**scene.ids)
    body = case.body(scene) if case.body else None
    if case.multipart:
        from django.core.files.uploadedfile import SimpleUploadedFile

        files = [SimpleUploadedFile(name, data) for name, data in body["files"]]
        response = getattr(client, case.method)(url, data={"files": files})
    elif body is not None:
        response = getattr(client, case.method)(url, data=body, content_type="application/json")
    else:
        response = getattr(client, case.method)(url)
    assert response.status_code == case.expected[role], response.content[:300]
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "detail"}


def test_matrix_covers_every_api_operation(client) -> None:
    spec = client.get(f"{API}/openapi.json").json()
    operations = {(method, path.removeprefix(API)) for path, ops in spec["paths"].items() for method in ops}
    covered = {(case.method, case.openapi_path) for case in API_CASES}
    assert operations - covered == set(), "API operations without a row in the access matrix"


# --- pages ----------------------------------------------------------------------------------------

STAFF_PAGE = expect(200, anonymous=302, merchant=403)
# a staff page about an object only desk roles may see (another merchant's, unassigned)
DESK_OBJECT_PAGE = expect(200, anonymous=302, merchant=403, technician=404, vendor=404)
# a successful POST without htmx redirects back (302)
STAFF_ACTION = expect(302, anonymous=302, merchant=403)
DESK_ACTION = expect(302, anonymous=302, merchant=403, technician=403, vendor=403)
PORTAL_PAGE = expect(403, anonymous=302, merchant=200)
PORTAL_OTHER = expect(403, anonymous=302, merchant=404)
PORTAL_ACTION = expect(403, anonymous=302, merchant=302)


def _ticket_form(**fields: Any) -> Callable[[Scene], dict]:
    return lambda s: {k: (v(s) if callable(v) else v) for k, v in fields.items()}


PAGE_CASES = [
    Case("get", "/console/login/", expect(302, anonymous=200, merchant=200), openapi_path="console:login"),
    Case("post", "/console/logout/", expect(302), openapi_path="console:logout"),
    Case("get", "/console/", STAFF_PAGE, openapi_path="console:queue"),
    Case("post", "/console/bulk-assign/", expect(302, anonymous=302, merchant=403),
         body=_ticket_form(ticket=lambda s: s.ticket.pk, assignee=lambda s: s.world.vendor_tech.pk),
         openapi_path="console:bulk_assign"),
    Case("post", "/console/views/", STAFF_ACTION, body=_ticket_form(name="我的P1", query="priority=P1"),
         openapi_path="console:saved_view_create"),
    Case("post", "/console/views/999999/delete/", expect(404, anonymous=302, merchant=403),
         openapi_path="console:saved_view_delete"),
    Case("get", "/console/tickets/{ticket}/", STAFF_PAGE, openapi_path="console:ticket"),
    Case("get", "/console/tickets/{other_ticket}/", DESK_OBJECT_PAGE, openapi_path="console:ticket"),
    Case("post", "/console/tickets/{ticket}/reply/", STAFF_ACTION, body=_ticket_form(body="您好，我们已安排工程师"),
         openapi_path="console:ticket_reply"),
    Case("post", "/console/tickets/{other_ticket}/reply/", expect(302, anonymous=302, merchant=403,
                                                                    technician=404, vendor=404),
         body=_ticket_form(body="您好"), openapi_path="console:ticket_reply"),
    Case("post", "/console/tickets/{ticket}/note/", STAFF_ACTION, body=_ticket_form(body="内部备注"),
         openapi_path="console:ticket_note"),
    Case("post", "/console/tickets/{ticket}/transition/", DESK_ACTION, body=_ticket_form(to_status="triaged"),
         openapi_path="console:ticket_transition"),
    Case("post", "/console/tickets/{ticket}/assign/", expect(302, anonymous=302, merchant=403, technician=403),
         body=_ticket_form(assignee=lambda s: s.world.vendor_tech.pk, team=lambda s: s.world.team.pk,
                           vendor=lambda s: s.world.vendor_org.pk),
         openapi_path="console:ticket_assign"),
    Case("post", "/console/tickets/{ticket}/classify/", DESK_ACTION,
         body=_ticket_form(category="hardware", priority="P2"), openapi_path="console:ticket_classify"),
    Case("post", "/console/tickets/{duplicate}/merge/",
         expect(302, anonymous=302, merchant=403, technician=404, vendor=404),
         body=_ticket_form(original=lambda s: s.ticket.number), openapi_path="console:ticket_merge"),
    Case("post", "/console/contacts/{contact}/reveal/", expect(200, anonymous=302, merchant=403),
         openapi_path="console:contact_reveal"),
    Case("get", "/console/merchants/", STAFF_PAGE, openapi_path="console:merchant_list"),
    Case("get", "/console/merchants/{merchant}/", STAFF_PAGE, openapi_path="console:merchant"),
    Case("get", "/console/merchants/{other_merchant}/", DESK_OBJECT_PAGE, openapi_path="console:merchant"),
    Case("get", "/console/terminals/{terminal}/", STAFF_PAGE, openapi_path="console:terminal"),
    Case("post", "/console/me/presence/", expect(302, anonymous=302, merchant=403),
         body=_ticket_form(presence="online"), openapi_path="console:presence_set"),
    Case("post", "/console/take-next/", expect(302, anonymous=302, merchant=403),
         openapi_path="console:take_next"),
    Case("get", "/console/sla/", expect(403, anonymous=302, supervisor=200, admin=200),
         openapi_path="console:sla_report"),
    Case("get", "/console/settings/calendar/", expect(403, anonymous=302, admin=200),
         openapi_path="console:calendar_settings"),
    Case("post", "/console/settings/calendar/", expect(403, anonymous=302, admin=302),
         body=_ticket_form(lines="2027-01-01,holiday,元旦"), openapi_path="console:calendar_settings"),
    Case("get", "/console/terminals/{other_terminal}/", DESK_OBJECT_PAGE, openapi_path="console:terminal"),
    # merchant portal: merchants only; staff are pointed to the console (403)
    Case("get", "/portal/login/", expect(200, merchant=302), openapi_path="portal:login"),
    Case("post", "/portal/logout/", expect(302), openapi_path="portal:logout"),
    Case("get", "/portal/", PORTAL_PAGE, openapi_path="portal:home"),
    Case("get", "/portal/report/", PORTAL_PAGE, openapi_path="portal:report"),
    Case("post", "/portal/report/", PORTAL_ACTION,
         body=lambda s: {"form_token": str(uuid4()), "terminal": s.world.terminal.pk, "text": "刷卡没反应"},
         openapi_path="portal:report"),
    Case("get", "/portal/tickets/{ticket}/", PORTAL_PAGE, openapi_path="portal:ticket"),
    Case("get", "/portal/tickets/{other_ticket}/", PORTAL_OTHER, openapi_path="portal:ticket"),
    Case("post", "/portal/tickets/{ticket}/reply/", PORTAL_ACTION, body=_ticket_form(body="您好，还是不行"),
         openapi_path="portal:ticket_reply"),
    Case("post", "/portal/tickets/{other_ticket}/reply/", PORTAL_OTHER, body=_ticket_form(body="您好"),
         openapi_path="portal:ticket_reply"),
    # confirm / reopen on a ticket that is not waiting for confirmation: the page shows why (200)
    Case("post", "/portal/tickets/{ticket}/confirm/", PORTAL_PAGE, openapi_path="portal:ticket_confirm"),
    Case("post", "/portal/tickets/{ticket}/reopen/", PORTAL_PAGE, body=_ticket_form(reason="没修好"),
         openapi_path="portal:ticket_reopen"),
    Case("post", "/portal/tickets/{ticket}/cancel/", PORTAL_ACTION, body=_ticket_form(reason="不需要了"),
         openapi_path="portal:ticket_cancel"),
    Case("post", "/portal/tickets/{other_ticket}/cancel/", PORTAL_OTHER, body=_ticket_form(reason="不需要了"),
         openapi_path="portal:ticket_cancel"),
    Case("get", "/portal/preferences/", PORTAL_PAGE, openapi_path="portal:preferences"),
    Case("post", "/portal/preferences/", PORTAL_ACTION, openapi_path="portal:preferences"),
    Case("post", "/portal/callback/", PORTAL_ACTION, openapi_path="portal:callback"),
    # the agents' callback queue and the ticket's contact panel: desk roles only
    Case("get", "/console/callbacks/", expect(403, anonymous=302, agent=200, supervisor=200, admin=200),
         openapi_path="console:callbacks"),
    Case("post", "/console/callbacks/999999/take/", expect(403, anonymous=302, agent=404, supervisor=404,
                                                           admin=404), openapi_path="console:callback_take"),
    Case("post", "/console/callbacks/999999/complete/", expect(403, anonymous=302, agent=404, supervisor=404,
                                                               admin=404),
         body=lambda s: {"outcome": "reached"}, openapi_path="console:callback_complete"),
    Case("get", "/console/tickets/{ticket}/contact/", expect(200, anonymous=302, merchant=403, technician=403,
                                                              vendor=403), openapi_path="console:ticket_contact"),
    Case("get", "/console/tickets/{other_ticket}/contact/", DESK_OBJECT_PAGE, openapi_path="console:ticket_contact"),
    Case("post", "/console/tickets/{ticket}/calls/", DESK_ACTION, body=lambda s: {"outcome": "reached"},
         openapi_path="console:ticket_call_log"),
    # the triage panel (C6) and the portal's "did this solve it?" (C5)
    Case("get", "/console/tickets/{ticket}/triage/", STAFF_PAGE, openapi_path="console:ticket_triage"),
    Case("get", "/console/tickets/{other_ticket}/triage/", DESK_OBJECT_PAGE, openapi_path="console:ticket_triage"),
    Case("post", "/console/tickets/{ticket}/triage/correct/", DESK_ACTION, body=lambda s: {"priority": "P1"},
         openapi_path="console:ticket_triage_correct"),
    Case("post", "/console/tickets/{other_ticket}/triage/correct/",
         expect(302, anonymous=302, merchant=403, technician=404, vendor=404), body=lambda s: {"category": "fees"},
         openapi_path="console:ticket_triage_correct"),
    Case("get", "/portal/tickets/{ticket}/self-service/", PORTAL_PAGE, openapi_path="portal:ticket_self_service"),
    Case("get", "/portal/tickets/{other_ticket}/self-service/", PORTAL_OTHER,
         openapi_path="portal:ticket_self_service"),
    Case("post", "/portal/tickets/{ticket}/self-service/", PORTAL_ACTION, body=lambda s: {"answer": "yes"},
         openapi_path="portal:ticket_self_service"),
    Case("post", "/portal/tickets/{other_ticket}/self-service/", PORTAL_OTHER, body=lambda s: {"answer": "yes"},
         openapi_path="portal:ticket_self_service"),
    # the providers' webhooks: machines sign them; no secret configured (as here) → they do not exist
    Case("get", "/channels/wechat/", expect(404), openapi_path="wechat-callback"),
    Case("post", "/channels/sms/aliyun/report", expect(404), openapi_path="sms-aliyun-report"),
    Case("post", "/channels/sms/aliyun/up", expect(404), openapi_path="sms-aliyun-up"),
    Case("post", "/channels/phone/events", expect(404), openapi_path="phone-events"),
    Case("get", "/attachments/999999", expect(404), openapi_path="attachment"),
    Case("get", "/", expect(302), openapi_path="home"),
    Case("get", "/healthz", expect(200), openapi_path="healthz"),
    Case("get", "/readyz", expect(200), openapi_path="readyz"),
    # incidents (C7): the desk reads the list and an incident; supervisors and admins act
    Case("get", "/console/incidents/", expect(403, anonymous=302, agent=200, supervisor=200, admin=200),
         openapi_path="console:incidents"),
    Case("get", "/console/incidents/{incident}/", expect(403, anonymous=302, agent=200, supervisor=200, admin=200),
         openapi_path="console:incident"),
    Case("post", "/console/incidents/{incident}/status/", expect(403, anonymous=302, supervisor=302, admin=302),
         body=_ticket_form(to_status="monitoring"), openapi_path="console:incident_status"),
    Case("post", "/console/incidents/{incident}/update/", expect(403, anonymous=302, supervisor=302, admin=302),
         body=_ticket_form(body="正在恢复", public="on"), openapi_path="console:incident_update"),
    Case("post", "/console/incidents/{incident}/eta/", expect(403, anonymous=302, supervisor=302, admin=302),
         body=_ticket_form(eta=""), openapi_path="console:incident_eta"),
    Case("post", "/console/incidents/{incident}/resolve/", expect(403, anonymous=302, supervisor=302, admin=302),
         body=_ticket_form(resolution="release"), openapi_path="console:incident_resolve"),
    Case("get", "/admin/", expect(302, admin=200), openapi_path="admin:index"),
    Case("get", "/admin/channels/rejectedinbound/", expect(302, admin=200),
         openapi_path="admin:channels_rejectedinbound_changelist"),
    # the knowledge base (C5): merchants read merchant-facing articles in the portal; staff in the console
    Case("get", "/portal/help/", PORTAL_PAGE, openapi_path="portal:help"),
    Case("get", "/portal/help/{article}/", PORTAL_PAGE, openapi_path="portal:help_article"),
    Case("get", "/portal/help/{internal_article}/", PORTAL_OTHER, openapi_path="portal:help_article"),
    Case("post", "/portal/help/{article}/solved/", PORTAL_ACTION, openapi_path="portal:help_solved"),
    Case("get", "/portal/report/suggest/?text=打印机不出纸", PORTAL_PAGE, openapi_path="portal:report_suggest"),
    Case("get", "/console/kb/?q=打印机", STAFF_PAGE, openapi_path="console:kb"),
    Case("get", "/console/kb/{internal_article}/", STAFF_PAGE, openapi_path="console:kb_article"),
    Case("post", "/console/kb/{article}/reviewed/", expect(403, anonymous=302, supervisor=302, admin=302),
         openapi_path="console:kb_reviewed"),
    Case("get", "/console/kb/report/", expect(403, anonymous=302, supervisor=200, admin=200),
         openapi_path="console:kb_report"),
    Case("get", "/admin/knowledge/article/", expect(302, admin=200), openapi_path="admin:knowledge_article_changelist"),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", PAGE_CASES, ids=lambda c: f"{c.method.upper()} {c.path}")
def test_pages_answer_each_role_as_the_matrix_says(case: Case, role: str, scene: Scene) -> None:
    client = Client()
    if role != "anonymous":
        client.force_login(scene.world.users[role])
    url = case.path.format(**scene.ids)
    body = case.body(scene) if case.body else {}
    response = client.get(url) if case.method == "get" else client.post(url, data=body)
    assert response.status_code == case.expected[role], (response.status_code, response.content[:400])


def _named_urls(resolver: Any = None, namespace: str = "") -> set[str]:
    from django.urls import URLPattern, URLResolver, get_resolver

    names: set[str] = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if pattern.namespace in ("api-v1",) or pattern.namespace == "admin":
                continue  # the API has its own matrix; the admin is Django's (its index is a row)
            names |= _named_urls(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_matrix_covers_every_named_page() -> None:
    covered = {case.openapi_path for case in PAGE_CASES}
    ignored = {"set_language", "javascript-catalog"}
    assert _named_urls() - covered - ignored == set(), "pages without a row in the access matrix"
