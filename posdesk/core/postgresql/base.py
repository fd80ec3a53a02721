"""Django's PostgreSQL backend, with a health check that costs no round trip.

With `CONN_HEALTH_CHECKS`, Django asks a connection kept from an earlier request whether it still
works before the request's first statement, by running `SELECT 1`: one round trip more in every
request, a twelfth of a ticket create's statements (bench/RESULTS.md). A connection between
requests is idle: the server has nothing to say on it unless it is ending it — a restart, an
administrator's `pg_terminate_backend`, `idle_session_timeout` — and then it sends its FATAL
message and closes the socket. So the check here looks at the socket without waiting: nothing to
read, the connection is usable; anything to read, Django's own `SELECT 1` decides. A connection
whose peer vanished without a word (a cut network) passes, as it would pass until `SELECT 1`
timed out; its first statement fails, and Django closes it after that request.

psycopg turns a statement's `%s` placeholders into `$1 …` on every execute and remembers the
result only for statements of at most 50 parameters — a guard against bulk inserts whose texts
never repeat. A ticket create's rows written together (`core.rows.rows_together`) are one
statement of 95 parameters whose text is the same on every create: converting it again cost
108 µs a create. The limit is raised to `CONVERTED_PARAMS_REMEMBERED`; what is remembered stays
bounded (psycopg's LRU cache of 128 texts). psycopg is pinned; a test checks the limit is there."""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import _queries

CONVERTED_PARAMS_REMEMBERED = 200
_queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, CONVERTED_PARAMS_REMEMBERED)


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        try:
            socket = select.poll()  # poll, not select: select() refuses descriptors past 1023
            socket.register(self.connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
            events = socket.poll(0)
        except (OSError, ValueError):
            return False
        if events:
            return super().is_usable()  # the server spoke on an idle connection: ask it
        return True
