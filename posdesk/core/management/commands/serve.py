"""`posdesk serve`: the web server, a Celery worker and beat in one command (SPEC §6).

Production runs the three separately (README, "Production"); this command is the embedded
default: it supervises them as child processes and stops all of them when one ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server, a background worker and the scheduler together."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("POSDESK_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("POSDESK_WEB_WORKERS", "2")))
        parser.add_argument("--no-worker", action="store_true", help="web server only")

    def handle(self, *args: Any, bind: str, workers: int, no_worker: bool, **options: Any) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        commands = [
            [
                sys.executable, "-m", "gunicorn", "config.wsgi:application",
                "--bind", bind, "--workers", str(workers), "--access-logfile", "-",
                "--graceful-timeout", "10",
            ]
        ]
        if not no_worker and not settings.CELERY_TASK_ALWAYS_EAGER:
            commands.append(
                [
                    sys.executable, "-m", "celery", "-A", "config", "worker", "--beat",
                    "--loglevel", "INFO", "--concurrency", "1",
                    "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME,
                ]
            )
        children = [subprocess.Popen(cmd) for cmd in commands]  # noqa: S603 - our own argv
        self.stdout.write(f"posdesk serving on http://{bind}/ (console /console/, portal /portal/, API /api/v1/docs)")

        def stop(*_: Any) -> None:
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            stop()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
