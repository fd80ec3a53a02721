"""Staff sign-in, sign-out and the console's door (staff only)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from posdesk.audit.models import AuditEntry
from posdesk.console.tests.conftest import HTMX

PASSWORD = "Passw0rd!posdesk"
LOGIN = "/console/login/"


def test_agent_signs_in_and_lands_on_the_queue_with_an_audit_entry(world, console):
    client = console()

    response = client.post(LOGIN, {"username": "agent", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("console:queue")
    assert client.get("/console/").status_code == 200
    assert AuditEntry.objects.filter(
        actor=world.agent, action=AuditEntry.Action.SIGN_IN, object_id=str(world.agent.pk)
    ).exists()


def test_sign_in_follows_a_local_next_but_not_an_outside_one(world, console):
    local = console().post(LOGIN + "?next=/console/merchants/", {"username": "agent", "password": PASSWORD})
    outside = console().post(
        LOGIN, {"username": "agent", "password": PASSWORD, "next": "https://evil.example/"}
    )

    assert local["Location"] == "/console/merchants/"
    assert outside["Location"] == reverse("console:queue")


def test_wrong_password_gets_a_clear_error_in_english_and_no_session(world, console):
    client = console(language="en")

    response = client.post(LOGIN, {"username": "agent", "password": "wrong-password"})

    assert response.status_code == 200
    assert "The username or password is wrong." in response.content.decode()
    assert client.get("/console/").status_code == 302
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.SIGN_IN).exists()


def test_wrong_password_error_is_shown_in_chinese_by_default(world, console):
    response = console().post(LOGIN, {"username": "agent", "password": "wrong-password"})

    assert 'id="login-error"' in response.content.decode()
    assert 'lang="zh-hans"' in response.content.decode()


def test_sign_in_is_locked_after_too_many_failures_even_with_the_right_password(world, console, settings):
    settings.LOGIN_FAILURES_ALLOWED = 3
    client = console(language="en")
    for _ in range(3):
        client.post(LOGIN, {"username": "agent", "password": "wrong-password"})

    response = client.post(LOGIN, {"username": "agent", "password": PASSWORD})

    assert "Too many failed sign-in attempts" in response.content.decode()
    assert client.get("/console/").status_code == 302


def test_a_successful_sign_in_clears_earlier_failures(world, console, settings):
    settings.LOGIN_FAILURES_ALLOWED = 3
    client = console()
    for _ in range(2):
        client.post(LOGIN, {"username": "agent", "password": "wrong-password"})
    client.post(LOGIN, {"username": "agent", "password": PASSWORD})
    client.post(reverse("console:logout"))

    for _ in range(2):
        client.post(LOGIN, {"username": "agent", "password": "wrong-password"})
    response = client.post(LOGIN, {"username": "agent", "password": PASSWORD})

    assert response.status_code == 302


def test_merchant_account_is_refused_and_pointed_to_the_portal(world, console):
    world.merchant_user.set_password(PASSWORD)
    world.merchant_user.save(update_fields=["password"])
    client = console(language="en")

    response = client.post(LOGIN, {"username": world.merchant_user.username, "password": PASSWORD})

    body = response.content.decode()
    assert response.status_code == 200
    assert "merchant portal" in body
    assert reverse("portal:home") in body
    assert client.get("/console/").status_code == 302  # not signed in


@pytest.mark.parametrize("path", ["/console/", "/console/merchants/"])
def test_anonymous_visitor_is_sent_to_sign_in(world, console, path):
    response = console().get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN + "?next=")


def test_anonymous_htmx_request_is_told_to_load_the_sign_in_page(world, console):
    response = console().get(
        "/console/", **HTMX, HTTP_HX_CURRENT_URL="http://testserver/console/?priority=P1"
    )

    assert response.status_code == 204
    assert response["HX-Redirect"] == LOGIN + "?next=%2Fconsole%2F%3Fpriority%3DP1"


def test_signed_in_merchant_gets_a_friendly_403_pointing_to_the_portal(world, console, open_ticket):
    ticket = open_ticket()
    client = console(world.merchant_user, language="en")

    queue = client.get("/console/")
    ticket_page = client.get(f"/console/tickets/{ticket.pk}/")

    assert queue.status_code == 403
    assert ticket_page.status_code == 403
    assert reverse("portal:home") in queue.content.decode()


@pytest.mark.parametrize("role", ["agent", "technician", "vendor", "supervisor", "admin"])
def test_every_staff_role_may_open_the_queue(world, console, role):
    assert console(world.users[role]).get("/console/").status_code == 200


def test_log_out_is_a_post_and_ends_the_session(world, console):
    client = console(world.agent)

    assert client.get(reverse("console:logout")).status_code == 405
    response = client.post(reverse("console:logout"))

    assert response["Location"] == reverse("console:login")
    assert client.get("/console/").status_code == 302


def test_signed_in_staff_visiting_the_login_page_goes_to_the_queue(world, console):
    response = console(world.agent).get(LOGIN)

    assert response.status_code == 302
    assert response["Location"] == reverse("console:queue")
