"""Writers on a SQLite file queue on the `-writer` lock instead of sleeping in SQLite's busy
handler, give it back however their transaction ends, and checkpoint the WAL outside it."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.utils import load_backend

from posdesk.core.sqlite import base

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded default's backend")


def _database(path: Path, timeout: float = 5) -> base.DatabaseWrapper:
    settings = {**connections.settings["default"], "NAME": str(path)}
    settings["OPTIONS"] = {**settings.get("OPTIONS", {}), "timeout": timeout, "transaction_mode": "IMMEDIATE",
                           "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    settings["TEST"] = {}
    return load_backend("posdesk.core.sqlite").DatabaseWrapper(settings, "writers")


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker):
    with django_db_blocker.unblock():  # the tests' own files, not the test database
        yield


@pytest.fixture
def db_file(tmp_path):
    path = tmp_path / "writers.sqlite3"
    first = _database(path)
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT, payload BLOB)")
    first.close()
    return path


class _Atomic:
    """transaction.atomic for a wrapper that is not in `connections` (the test's own)."""

    def __init__(self, database: base.DatabaseWrapper) -> None:
        self.database = database

    def __enter__(self) -> None:
        self.database.ensure_connection()
        self.database.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self.database.commit()
            else:
                self.database.rollback()
        finally:
            self.database.set_autocommit(True)


def _rows(path: Path) -> list[str]:
    with sqlite3.connect(path) as plain:
        return [who for (who,) in plain.execute("SELECT who FROM t ORDER BY id")]


def _lock_is_free(path: Path) -> bool:
    probe = os.open(str(path) + base.WRITER_LOCK_SUFFIX, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(probe)


def test_a_second_writer_waits_for_the_first_and_then_goes_on(db_file):
    first = _database(db_file)
    inside = threading.Event()
    order: list[str] = []

    def later_writer() -> None:
        second = _database(db_file)  # made in the thread that uses it
        inside.wait(5)
        with _Atomic(second), second.cursor() as cursor:
            order.append("second began")
            cursor.execute("INSERT INTO t (who) VALUES (%s)", ["second"])
        second.close()

    thread = threading.Thread(target=later_writer)
    thread.start()
    with _Atomic(first), first.cursor() as cursor:
        cursor.execute("INSERT INTO t (who) VALUES (%s)", ["first"])
        assert not _lock_is_free(db_file)
        inside.set()
        time.sleep(0.3)  # the second writer is queued meanwhile
        order.append("first commits")
    thread.join(10)
    assert _lock_is_free(db_file)
    first.close()
    assert order == ["first commits", "second began"]
    assert _rows(db_file) == ["first", "second"]


def test_the_lock_is_given_back_on_rollback_and_close(db_file):
    first, second = _database(db_file, timeout=0.5), _database(db_file, timeout=0.5)
    with pytest.raises(ZeroDivisionError), _Atomic(first), first.cursor() as cursor:
        cursor.execute("INSERT INTO t (who) VALUES (%s)", ["rolled back"])
        1 / 0  # noqa: B018
    with _Atomic(second), second.cursor() as cursor:  # not kept waiting
        cursor.execute("INSERT INTO t (who) VALUES (%s)", ["after rollback"])
    first.ensure_connection()
    first.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    first.close()  # a connection closed inside its transaction
    with _Atomic(second), second.cursor() as cursor:
        cursor.execute("INSERT INTO t (who) VALUES (%s)", ["after close"])
    second.close()
    assert _rows(db_file) == ["after rollback", "after close"]


def test_a_writer_kept_waiting_past_the_timeout_fails_and_writes_nothing(db_file):
    first, second = _database(db_file), _database(db_file, timeout=0.2)
    with _Atomic(first), first.cursor() as cursor:
        cursor.execute("INSERT INTO t (who) VALUES (%s)", ["first"])
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"), _Atomic(second):
            pass
        assert 0.2 <= time.monotonic() - started < 2
        assert second._writer_held is False
    with _Atomic(second), second.cursor() as cursor:  # and writes once the first is done
        cursor.execute("INSERT INTO t (who) VALUES (%s)", ["second"])
    first.close()
    second.close()
    assert _rows(db_file) == ["first", "second"]


@pytest.mark.django_db
def test_in_memory_databases_take_no_lock():
    connection.ensure_connection()
    assert connection.is_in_memory_db()
    assert connection._writer_path is None
    with transaction.atomic():
        assert connection._writer_held is False


def _main_file_size(path: Path) -> int:
    return path.stat().st_size


@pytest.mark.parametrize("in_transaction", [True, False])
def test_the_wal_is_checkpointed_by_the_writers_not_inside_commit(db_file, in_transaction):
    writer = _database(db_file)
    writer.ensure_connection()
    assert writer.connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    blob = b"x" * 2000
    before = _main_file_size(db_file)
    rows = [[f"row {i}", blob] for i in range(base.CHECKPOINT_AFTER_ROWS - 1)]
    if in_transaction:
        with _Atomic(writer), writer.cursor() as cursor:
            cursor.executemany("INSERT INTO t (who, payload) VALUES (%s, %s)", rows)
    else:
        with writer.cursor() as cursor:
            cursor.executemany("INSERT INTO t (who, payload) VALUES (%s, %s)", rows)
    assert _main_file_size(db_file) == before  # in the WAL only: fewer rows than the threshold
    if in_transaction:
        with _Atomic(writer), writer.cursor() as cursor:
            cursor.execute("INSERT INTO t (who, payload) VALUES (%s, %s)", ["last", blob])
    else:
        with writer.cursor() as cursor:
            cursor.execute("INSERT INTO t (who, payload) VALUES (%s, %s)", ["last", blob])
    assert _main_file_size(db_file) > before + len(blob) * base.CHECKPOINT_AFTER_ROWS  # copied back
    writer.close()
    assert len(_rows(db_file)) == base.CHECKPOINT_AFTER_ROWS
