"""`posdesk incidents baseline [--from-tickets DAYS]` refreshes the detector's baselines (seeding the
hour counts from the tickets of the last DAYS first: a new installation with a history);
`posdesk incidents upkeep` runs the hourly upkeep (roll-up, retention, baselines) now."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from posdesk.incidents.services import detector_baselines_refresh, detector_history_import, detector_upkeep


class Command(BaseCommand):
    help = "The incident detector's baselines and upkeep."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["baseline", "upkeep"])
        parser.add_argument("--from-tickets", type=int, metavar="DAYS", default=0,
                            help="first count the tickets of the last DAYS into the hour counts (once)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["action"] == "upkeep":
            self.stdout.write(str(detector_upkeep(now=now)))
            return
        if options["from_tickets"] > 0:
            rows = detector_history_import(since=now - timedelta(days=options["from_tickets"]), until=now)
            self.stdout.write(f"hour counts from tickets: {rows}")
        self.stdout.write(f"baselines: {detector_baselines_refresh(now=now)}")
