"""posdesk calendar_import FILE — enter a year's holidays and adjusted working days (调休).

FILE has lines `2027-01-01,holiday,元旦` / `2027-02-07,workday,春节调休` (`-` reads stdin). The
years in the file replace earlier entries for them; open tickets' deadlines are recomputed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from posdesk.core.errors import ApplicationError
from posdesk.slas.services import holiday_entries_import, holiday_rows_parse
from posdesk.tickets.sla import sla_recompute_open


class Command(BaseCommand):
    help = "Import holidays and adjusted working days (date,holiday|workday,name per line)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="CSV file, or - for standard input")
        parser.add_argument("--keep", action="store_true", help="keep earlier entries of the same years")

    def handle(self, *args: Any, file: str, keep: bool, **options: Any) -> None:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        try:
            rows = holiday_rows_parse(text)
            counts = holiday_entries_import(rows=rows, actor=None, replace_years=not keep)
        except ApplicationError as exc:
            lines = ", ".join(str(p["line"]) for p in (exc.detail or {}).get("lines", []))
            raise CommandError(f"{exc.message}{' (lines ' + lines + ')' if lines else ''}") from exc
        recomputed = sla_recompute_open(now=timezone.now())
        self.stdout.write(f"已导入 imported: {counts['created']} new, {counts['updated']} updated, "
                          f"{counts['removed']} removed; {recomputed} open tickets' deadlines recomputed")
