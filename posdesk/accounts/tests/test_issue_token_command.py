"""`posdesk issue_token <username-or-mobile> [--name NAME]`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from posdesk.accounts.models import ApiToken
from posdesk.accounts.services import api_token_authenticate


def _issue(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_only_a_working_token_for_a_username(world):
    out, err = _issue("agent")
    token = out.strip()
    assert out == token + "\n"
    assert token.startswith("pd_") and " " not in token
    assert err == ""
    assert api_token_authenticate(token) == world.agent
    response = Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/me")
    assert response.json()["username"] == "agent"


@pytest.mark.parametrize("spelling", ["13812345678", "138 1234 5678", "+8613812345678"])
def test_it_finds_a_user_by_mobile(world, spelling):
    out, _ = _issue(spelling)
    assert api_token_authenticate(out.strip()) == world.merchant_user


def test_the_token_gets_the_name_given(world):
    _issue("supervisor", "--name", "报表脚本")
    assert ApiToken.objects.get(user=world.supervisor).name == "报表脚本"


def test_an_unknown_user_is_a_clear_error(world):
    with pytest.raises(CommandError, match="No user with username or mobile 'nobody'"):
        _issue("nobody")
    assert not ApiToken.objects.exists()


def test_an_inactive_user_is_a_clear_error(world):
    world.agent.is_active = False
    world.agent.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="inactive"):
        _issue("agent")
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("who", ["nobody", "agent"])
def test_errors_exit_with_status_1_and_print_no_token(world, who, capsys):
    from django.core.management import ManagementUtility

    world.agent.is_active = False
    world.agent.save(update_fields=["is_active"])
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["posdesk", "issue_token", who]).execute()
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("CommandError: ")
    assert ("inactive" if who == "agent" else "No user") in captured.err
