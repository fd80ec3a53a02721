"""`posdesk search_reindex [--tickets] [--articles]`: build the full-text index from scratch for an
existing database (after an upgrade, a restore or a bulk import). Neither flag: both."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from posdesk.knowledge import search


class Command(BaseCommand):
    help = "Rebuild the full-text search index of tickets and/or knowledge articles."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", action="store_true", help="rebuild the ticket index")
        parser.add_argument("--articles", action="store_true", help="rebuild the article index")
        parser.add_argument("--batch-size", type=int, default=search.TICKET_BATCH, help="tickets per committed batch")

    def handle(self, *args: Any, tickets: bool, articles: bool, batch_size: int, **options: Any) -> None:
        both = not tickets and not articles
        if articles or both:
            started = time.perf_counter()
            count = search.article_index_rebuild()
            self.stdout.write(f"articles indexed: {count:,} ({time.perf_counter() - started:.1f} s)")
        if tickets or both:
            started = time.perf_counter()

            def progress(done: int) -> None:
                if done % (batch_size * 25) == 0:
                    seconds = time.perf_counter() - started
                    self.stdout.write(f"  {done:>10,} tickets  {seconds:7.1f} s  {done / seconds:,.0f}/s")

            count = search.ticket_index_rebuild(batch=batch_size, progress=progress)
            self.stdout.write(f"tickets indexed: {count:,} ({time.perf_counter() - started:.1f} s)")
