"""A delivery worker that tests/test_outbox_worker_killed.py runs as a real OS process and kills.

    python -m tests.killable_worker <requests-file> hang-before-accepting | hang-after-accepting | recover

It runs what a Celery worker runs — the drain of fresh messages, or for `recover` the periodic
sweep — on the database and SMS provider its environment names (DATABASE_URL,
POSDESK_SMS_LOCAL_FILE). The provider's `send` is observed, not replaced: every request it
receives is appended to <requests-file> (process id and idempotency key), as a loopback fake of a
gateway would log it, and in a `hang-…` mode the worker prints `hanging` and blocks for good
either before the provider has accepted the message or right after, until the test kills it."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

HANGING = "hanging"


def main(argv: list[str]) -> int:
    requests_file, mode = Path(argv[1]), argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from posdesk.channels.sms.providers import LocalSmsProvider, SendResult
    from posdesk.outbox import services, tasks

    accept = LocalSmsProvider.send

    def observed_send(
        self: LocalSmsProvider, *, mobile: str, text: str, reference: str, idempotency_key: str = ""
    ) -> SendResult:
        with requests_file.open("a", encoding="utf-8") as requests:
            requests.write(json.dumps({"pid": os.getpid(), "idempotency_key": idempotency_key}) + "\n")
        if mode == "hang-before-accepting":
            _hang()
        result = accept(self, mobile=mobile, text=text, reference=reference, idempotency_key=idempotency_key)
        if mode == "hang-after-accepting":
            _hang()
        return result

    LocalSmsProvider.send = observed_send  # type: ignore[method-assign]
    if mode == "recover":
        print(f"swept {tasks.outbox_sweep()}", flush=True)  # what beat runs after a restart
    else:
        services.outbox_drain_fresh()
    return 0


def _hang() -> None:
    print(HANGING, flush=True)
    threading.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    sys.exit(main(sys.argv))
