"""posdesk sla_recompute — deadlines for tickets that have none (tickets from before service
standards, imports) and, with --open, fresh deadlines for every open ticket after a change of
policies, hours or calendar."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from posdesk.tickets.sla import sla_backfill, sla_recompute_open


class Command(BaseCommand):
    help = "Give tickets without a service standard their deadlines; --open recomputes open tickets."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--open", action="store_true", help="also recompute every open ticket")

    def handle(self, *args: Any, open: bool, **options: Any) -> None:  # noqa: A002 - the option's name
        now = timezone.now()
        filled = sla_backfill(now=now)
        recomputed = sla_recompute_open(now=now) if open else 0
        self.stdout.write(f"{filled} tickets given deadlines; {recomputed} open tickets recomputed")
