"""posdesk mail_fetch — read the support mailbox once into tickets (what the periodic job does);
with --idle, keep listening (IMAP IDLE) and fetch as soon as mail arrives, until interrupted."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from posdesk.channels.mail.inbox import MailboxUnavailable, mail_fetch, mail_idle


class Command(BaseCommand):
    help = "Fetch new e-mail from the support mailbox into tickets; --idle keeps listening (IMAP IDLE)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--idle", action="store_true", help="keep listening (IMAP IDLE)")

    def handle(self, *args: Any, idle: bool, **options: Any) -> None:
        if not settings.IMAP_HOST:
            raise CommandError("E-mail intake is off: set POSDESK_IMAP_HOST and the other POSDESK_IMAP_*.")
        if idle:
            where = f"{settings.IMAP_HOST}:{settings.IMAP_PORT}/{settings.IMAP_FOLDER}"
            self.stdout.write(f"listening on {where} (Ctrl-C to stop)")
            try:
                mail_idle()
            except KeyboardInterrupt:
                self.stdout.write("stopped")
            return
        try:
            new = mail_fetch()
        except MailboxUnavailable as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{new} new e-mails")
