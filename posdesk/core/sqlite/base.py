"""Django's SQLite backend, with two changes for many requests writing at once.

1. Writers queue without sleeping. SQLite has one write lock; a second writer's BEGIN IMMEDIATE
fails with SQLITE_BUSY and sqlite3's busy handler sleeps 1, 2, 5, 10 … ms before it tries again,
whether the lock came free after 0.1 ms or not. Under the benchmark's create load nearly every
request slept once (strace: 333 sleeps in 380 requests) while the machine idled at 25 %. Before
BEGIN, a transaction here takes an advisory lock on a file beside the database
(`<database>-writer`) and polls it every 100 µs; COMMIT, ROLLBACK or closing the connection gives
it back. Past the connection's `timeout` it fails as SQLite does: "database is locked". In-memory
databases (the test suite's) have one connection and no lock file.

   SQLite checkpoints the WAL inside COMMIT (every 1,000 pages): 11 ms, every twentieth create,
and with the queue above it would hold every other writer for that long. So these connections
turn the automatic checkpoint off and run the same PASSIVE checkpoint themselves once they have
changed `CHECKPOINT_AFTER_ROWS` rows since their last one (a create changes about eight; a bulk
load's first commit checkpoints at once): right after a transaction's lock is given back, or
after a statement run outside a transaction.

2. The placeholder rewrite is remembered. Django's SQLite cursor rewrites every statement from
the "format" style (`%s`) to sqlite3's "qmark" style (`?`) with a look-behind regular expression,
on every execute. posdesk sends the
same few hundred statement texts again and again: a callgrind profile of a ticket creation put
9 % of all its instructions in that rewrite (bench/RESULTS.md). The rewrite depends on the text
alone, so it is remembered — for texts up to a few kilobytes, in a bounded LRU cache; long texts
(bulk inserts with many values) are rewritten each time, as before."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from functools import lru_cache
from typing import Any

from django.db.backends.sqlite3 import base

logger = logging.getLogger(__name__)

MAX_REMEMBERED_LENGTH = 4096
WRITER_LOCK_SUFFIX = "-writer"
WRITER_POLL_SECONDS = 0.0001
CHECKPOINT_AFTER_ROWS = 200


@lru_cache(maxsize=2048)
def _remembered_qmark(query: str) -> str:
    return qmark(query)


def qmark(query: str) -> str:
    """`%s` → `?` and `%%` → `%`, exactly as Django's SQLite cursor does."""
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    database: DatabaseWrapper | None = None

    def convert_query(self, query: str, *, param_names: Any = None) -> str:
        if param_names is None and len(query) <= MAX_REMEMBERED_LENGTH:
            return _remembered_qmark(query)
        return super().convert_query(query, param_names=param_names)

    def execute(self, query: str, params: Any = None) -> Any:
        result = super().execute(query, params)
        if self.database is not None and not self.connection.in_transaction:
            self.database.checkpoint_maybe()  # a write outside a transaction is committed by now
        return result

    def executemany(self, query: str, param_list: Any) -> Any:
        result = super().executemany(query, param_list)
        if self.database is not None and not self.connection.in_transaction:
            self.database.checkpoint_maybe()
        return result


class DatabaseWrapper(base.DatabaseWrapper):
    _writer_path: str | None = None  # set for a database in a file: writers queue on it
    _writer_fd: int | None = None
    _writer_held = False
    _checkpointed_changes = 0

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=SQLiteCursorWrapper)
        if self._writer_path is not None:
            cursor.database = self
        return cursor

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        conn = super().get_new_connection(conn_params)
        name = str(self.settings_dict["NAME"])
        in_file = not (self.is_in_memory_db() or name.startswith("file:"))
        self._writer_path = name + WRITER_LOCK_SUFFIX if in_file else None
        if in_file:
            conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoint_maybe() does it: see the module's note
            self._checkpointed_changes = conn.total_changes
        return conn

    # --- the writers' queue -------------------------------------------------------------

    def writer_acquire(self) -> None:
        """Wait until no other connection is in a transaction (nothing to do in memory)."""
        if self._writer_held or self._writer_path is None:
            return
        if self._writer_fd is None:
            self._writer_fd = os.open(self._writer_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = None
        while True:
            try:
                fcntl.flock(self._writer_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + float(self.settings_dict["OPTIONS"].get("timeout", 5))
                if now >= deadline:
                    raise self.Database.OperationalError("database is locked") from None
                time.sleep(WRITER_POLL_SECONDS)
        self._writer_held = True

    def writer_release(self) -> None:
        if self._writer_held:
            self._writer_held = False
            fcntl.flock(self._writer_fd, fcntl.LOCK_UN)

    def checkpoint_maybe(self) -> None:
        """Copy the WAL back into the database once enough rows changed; called after a commit,
        outside the writers' lock."""
        if self.connection is None or self._writer_path is None:
            return
        changes = self.connection.total_changes
        if changes - self._checkpointed_changes < CHECKPOINT_AFTER_ROWS:
            return
        self._checkpointed_changes = changes
        try:
            self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except self.Database.Error:
            # the commit stands; the next one's checkpoint (or SQLite's own on close) copies it
            logger.warning("sqlite checkpoint failed", exc_info=True)

    def _start_transaction_under_autocommit(self) -> None:
        with self.wrap_database_errors:
            self.writer_acquire()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self.writer_release()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self.writer_release()
        self.checkpoint_maybe()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self.writer_release()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self.writer_release()
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None
