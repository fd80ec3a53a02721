"""`posdesk demo`: load the demo world (idempotent) and, with `--tickets N`, top the ticket table
up to N tickets for benchmarks. Prints the demo log-ins at the end."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from posdesk.demo import services


class Command(BaseCommand):
    help = "Load idempotent demo data (Hangzhou merchants, real terminal models, 90 days of tickets)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=0,
                            help="top the database up to this many tickets with fast bulk inserts (benchmarks)")
        parser.add_argument("--merchants", type=int, default=services.DEFAULT_MERCHANTS)
        parser.add_argument("--terminals", type=int, default=services.DEFAULT_TERMINALS)
        parser.add_argument("--history-days", type=int, default=services.DEFAULT_HISTORY_DAYS,
                            help="days of realistic ticket history (0: none)")
        parser.add_argument("--batch-size", type=int, default=20_000, help="rows per committed batch for --tickets")
        parser.add_argument("--no-logins", action="store_true", help="do not print the demo log-ins")

    def handle(self, *args: Any, tickets: int, merchants: int, terminals: int, history_days: int,
               batch_size: int, no_logins: bool, **options: Any) -> None:
        started = time.perf_counter()
        result = services.demo_load(merchants=merchants, terminals=terminals, history_days=history_days)
        if result.created:
            created = ", ".join(f"{name} {count}" for name, count in result.created.items())
            self.stdout.write(f"demo data created: {created} ({time.perf_counter() - started:.1f} s)")
        else:
            self.stdout.write("demo data already loaded; nothing changed")
        self._knowledge(index_tickets=not result.history_skipped and history_days > 0)
        if tickets:
            self._bulk(tickets, batch_size)
        if not no_logins:
            self._print_logins()

    def _knowledge(self, *, index_tickets: bool) -> None:
        """The demo articles (C5), and the search index of the history just written."""
        from posdesk.demo.articles import demo_articles_load
        from posdesk.knowledge.search import ticket_index_rebuild

        created = demo_articles_load()
        if created:
            self.stdout.write(f"knowledge articles created: {created}")
        if index_tickets:
            self.stdout.write(f"ticket search index: {ticket_index_rebuild():,} tickets")

    def _bulk(self, target: int, batch_size: int) -> None:
        def progress(done: int, need: int, seconds: float) -> None:
            rate = done / seconds if seconds else 0
            self.stdout.write(f"  {done:>10,} / {need:,} tickets  {seconds:7.1f} s  {rate:,.0f}/s")

        self.stdout.write(f"bulk tickets: topping up to {target:,} …")
        result = services.demo_tickets_bulk(target=target, batch_size=batch_size, progress=progress)
        if result.created:
            self.stdout.write(f"bulk tickets: created {result.created:,} in {result.seconds:.1f} s; "
                              f"{result.total:,} tickets in the database")
        else:
            self.stdout.write(f"bulk tickets: the database already has {result.total:,} tickets; nothing changed")

    def _print_logins(self) -> None:
        logins = services.demo_logins()
        self.stdout.write("\nDemo log-ins · 演示账号")
        self.stdout.write("  Staff console http://127.0.0.1:8000/console/  (password for all: "
                          f"{logins[0].password if logins else '-'})")
        for login in logins:
            if login.where == "console":
                self.stdout.write(f"    {login.username:<12} {login.role:<11} {login.name}")
        portal = [login for login in logins if login.where == "portal"]
        if portal:
            self.stdout.write("  Merchant portal http://127.0.0.1:8000/portal/")
            for login in portal:
                self.stdout.write(f"    mobile {login.username}  {login.name}")
            self.stdout.write("    The one-time sign-in code is written to the server log and the outbox "
                              "(embedded SMS backend); no SMS is sent.")
