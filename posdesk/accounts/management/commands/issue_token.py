"""`posdesk issue_token <username-or-mobile> [--name NAME]`: print a new API token for a user.

Only the token goes to stdout, so scripts can capture it (`TOKEN=$(posdesk issue_token agent)`);
the secret is shown this once, only its digest is stored."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from posdesk.accounts.selectors import user_find_by_username_or_mobile
from posdesk.accounts.services import api_token_issue


class Command(BaseCommand):
    help = "Print a new REST API token for the user with this username or mobile number."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="username or mobile number")
        parser.add_argument("--name", default="", help="a label to tell this token apart from others")

    def handle(self, *args: Any, user: str, name: str, **options: Any) -> None:
        ident = user.strip()
        found = user_find_by_username_or_mobile(ident) if ident else None
        if found is None:
            raise CommandError(f"No user with username or mobile {ident!r}.")
        if not found.is_active:
            raise CommandError(f"The user {found.username!r} is inactive; a token would not work.")
        self.stdout.write(api_token_issue(user=found, name=name.strip()[:60]))
