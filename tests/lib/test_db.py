"""lib/db.py: the planner statistics refreshed after a large import."""

from __future__ import annotations

import pytest
from django.db import connection

from relance.lib.db import refresh_statistics


@pytest.mark.django_db
def test_refresh_statistics_gives_sqlite_its_index_statistics(make_invoice):
    for _ in range(3):
        make_invoice()
    refresh_statistics()
    if connection.vendor != "sqlite":
        return  # PostgreSQL: autovacuum's business; the call is a no-op there and must not fail
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'ledger_invoice'")
        assert cursor.fetchone()[0] > 0
