"""API tokens: issue, authenticate, revoke; what the API answers for each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from posdesk.accounts.models import ApiToken
from posdesk.accounts.services import api_token_authenticate, api_token_issue, api_token_revoke

START = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def _client(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_a_token_is_shown_once_and_only_its_digest_is_stored(world):
    secret = api_token_issue(user=world.agent, name="脚本")
    token = ApiToken.objects.get(user=world.agent)
    assert secret.startswith("pd_")
    assert token.name == "脚本"
    assert token.prefix == secret[:10]
    assert secret not in token.digest and len(token.digest) == 64
    assert api_token_authenticate(secret) == world.agent


def test_every_token_is_different(world):
    assert api_token_issue(user=world.agent) != api_token_issue(user=world.agent)


@pytest.mark.parametrize("secret", ["", "pd_", "pd_wrong", "not-a-pd-token", "pd_" + "x" * 200])
def test_unknown_tokens_authenticate_nobody(world, secret):
    assert api_token_authenticate(secret) is None


def test_a_revoked_token_gets_401(world):
    secret = api_token_issue(user=world.agent)
    assert _client(secret).get("/api/v1/me").status_code == 200
    api_token_revoke(token=ApiToken.objects.get(user=world.agent))
    response = _client(secret).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_an_inactive_users_token_gets_401(world):
    secret = api_token_issue(user=world.agent)
    world.agent.is_active = False
    world.agent.save(update_fields=["is_active"])
    assert _client(secret).get("/api/v1/me").status_code == 401


def test_revoking_one_token_keeps_the_others(world):
    first, second = api_token_issue(user=world.agent, name="a"), api_token_issue(user=world.agent, name="b")
    api_token_revoke(token=ApiToken.objects.get(name="a"))
    assert api_token_authenticate(first) is None
    assert api_token_authenticate(second) == world.agent


def test_last_used_is_touched_at_most_once_a_minute(world, time_machine, django_assert_num_queries):
    time_machine.move_to(START, tick=False)
    secret = api_token_issue(user=world.agent)
    token = ApiToken.objects.get(user=world.agent)
    assert token.last_used_at is None

    # the first use writes the time: one read, one write
    with django_assert_num_queries(2):
        api_token_authenticate(secret)
    token.refresh_from_db()
    assert token.last_used_at == START

    # uses within the minute only read
    time_machine.move_to(START + timedelta(seconds=59), tick=False)
    with django_assert_num_queries(1):
        api_token_authenticate(secret)
    token.refresh_from_db()
    assert token.last_used_at == START

    # a use after the minute writes again
    time_machine.move_to(START + timedelta(seconds=61), tick=False)
    api_token_authenticate(secret)
    token.refresh_from_db()
    assert token.last_used_at == START + timedelta(seconds=61)


def test_a_signed_in_session_also_reaches_the_api_but_not_once_deactivated(world):
    client = Client()
    client.force_login(world.agent)
    assert client.get("/api/v1/me").status_code == 200
    world.agent.is_active = False
    world.agent.save(update_fields=["is_active"])
    assert client.get("/api/v1/me").status_code == 401


def test_an_exact_username_wins_over_another_users_mobile(db):
    from posdesk.accounts.models import Role, User
    from posdesk.accounts.selectors import user_find_by_username_or_mobile

    by_mobile = User.objects.create(username="zhang", role=Role.AGENT, mobile="13812345678")
    by_name = User.objects.create(username="13812345678", role=Role.AGENT)
    assert user_find_by_username_or_mobile("13812345678") == by_name
    assert user_find_by_username_or_mobile("138 1234 5678") == by_mobile
