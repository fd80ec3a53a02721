"""Helpers for tests that race real threads against the database.

pytest-django's SQLite test database lives in memory with a shared cache. Shared-cache locks do
not honour the busy timeout, so a second writer fails at once with "database table is locked"
instead of waiting the way it does on the real, file-based SQLite (WAL + BEGIN IMMEDIATE +
timeout). `racing_database` copies the test database into a file for the duration of a race so
that threads see production locking; on PostgreSQL it changes nothing."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connections
from django.db.utils import load_backend


@contextmanager
def racing_database(tmp_path: Path) -> Iterator[None]:
    """Use inside a `django_db(transaction=True)` test, after the test data is written."""
    memory = connections["default"]
    if memory.vendor != "sqlite" or not memory.is_in_memory_db():
        yield
        return
    memory_settings = connections.settings["default"]
    path = tmp_path / "race.sqlite3"
    memory.ensure_connection()
    target = sqlite3.connect(path)
    memory.connection.backup(target)
    target.execute("PRAGMA journal_mode=WAL")
    target.close()
    file_settings = {**memory_settings, "NAME": str(path)}
    connections.settings["default"] = file_settings  # new threads connect to the file
    on_file = load_backend(file_settings["ENGINE"]).DatabaseWrapper(file_settings, "default")
    connections["default"] = on_file  # and so does this thread
    try:
        yield
    finally:
        on_file.close()
        connections["default"] = memory
        connections.settings["default"] = memory_settings


def run_together(*calls: Callable[[], Any], timeout: float = 60) -> list[Any]:
    """Run each call in its own thread, released at the same moment; returns their results in
    order (an exception a call raised is returned in its place)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing thread did not finish"
    return results
