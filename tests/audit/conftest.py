"""Audit fixtures: raw SQL on the log (the tampering an attacker with database access could do)."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def scenarios(org):
    from relance.dunning.defaults import install_default_scenarios

    install_default_scenarios(org)
    return org


@pytest.fixture
def tamper(db):
    """Run raw SQL on the audit table as someone with database access would: on PostgreSQL with the
    append-only trigger switched off first (ALTER TABLE, as the table's owner can)."""

    def run(sql: str, params=()) -> int:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
            cursor.execute(sql, params)
            count = cursor.rowcount
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
        return count

    return run


def kinds(org) -> list[str]:
    from relance.audit.models import AuditEntry

    return list(AuditEntry.objects.filter(organisation=org).order_by("seq").values_list("kind", flat=True))


def last(org, kind: str):
    from relance.audit.models import AuditEntry

    return AuditEntry.objects.filter(organisation=org, kind=kind).order_by("-seq").first()
