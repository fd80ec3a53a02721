"""Background jobs started by commits, coalesced per process.

A job that works off a queue in the database (send the outbox, route new tickets) does not need
one broker message per commit: the first commit in a window publishes one run due at the window's
end; commits inside the window publish nothing, because that run starts after they committed and
finds their rows too. One publish per window instead of one per write keeps the broker off the
request path under load (bench/RESULTS.md). A window of 0, or jobs that run inline (eager),
run at once."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable

from django.conf import settings


class CoalescedJob:
    def __init__(self, task_name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.task_name = task_name
        self._clock = clock
        self._lock = threading.Lock()
        self._quiet_until = 0.0

    def __call__(self) -> None:
        module, name = self.task_name.rsplit(".", 1)
        task = getattr(importlib.import_module(module), name)  # web processes do not autodiscover tasks
        window = settings.JOB_KICK_WINDOW_SECONDS
        if window <= 0 or task.app.conf.task_always_eager:
            task.delay()
            return
        now = self._clock()
        with self._lock:
            if now < self._quiet_until:
                return
            self._quiet_until = now + window
        task.apply_async(countdown=window)
