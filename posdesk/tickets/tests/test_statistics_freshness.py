"""PostgreSQL re-analyses the tickets table after 1 % of it changed (migration tickets 0008), not
after autovacuum's default 10 %: a burst of reports changes the queue's plans within a minute."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="autovacuum is PostgreSQL's"),
]


def test_the_tickets_table_is_reanalysed_after_one_percent_changed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'tickets_ticket'")
        options = cursor.fetchone()[0] or []
    assert "autovacuum_analyze_scale_factor=0.01" in options
