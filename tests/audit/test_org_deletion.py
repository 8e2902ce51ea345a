"""Deleting an organisation: its log archived first (verifiable offline), then no entry of it left;
the other organisations' logs untouched, and still refused any UPDATE or DELETE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from relance.accounts.models import Organisation
from relance.audit.archive import purge_deleted, verify_archive
from relance.audit.log import Event, record_many
from relance.audit.models import AuditAnchor, AuditEntry
from relance.audit.verify import verify_org
from relance.dunning.actions import record_promise
from tests.web.admin_support import delete_url

ROOT = Path(__file__).resolve().parents[2]
postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'")


@pytest.fixture
def logs(org, other_org, customer, make_invoice):
    """Both organisations with a log; the first one with a ledger (customers and invoices are
    PROTECTed: they go first)."""
    record_promise(make_invoice(), date(2099, 1, 1))
    record_many(org, [Event("note.added", "note", str(i), "C001", customer.pk, {"i": i}) for i in range(3)])
    record_many(other_org, [Event("note.added", "note", str(i), "X", None, {"i": i}) for i in range(2)])
    return org, other_org


def archives() -> list[Path]:
    return sorted((Path(settings.DATA_DIR) / "audit-archives").glob("abc-*.jsonl"))


def test_deleting_archives_the_whole_log_then_leaves_no_entry(logs, capsys):
    org, other = logs
    org_id, before = org.pk, archives()
    call_command("org", "delete", "abc", "--yes")

    (path,) = sorted(set(archives()) - set(before))
    assert str(path) in capsys.readouterr().out
    header, verdict = verify_archive(path)
    assert verdict.ok and verdict.count == 5  # the promise, three notes, the deletion itself
    assert header["head"] == {"count": 5, "last_hash": verdict.last_hash}
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    assert [e["kind"] for e in lines] == ["promise.recorded", *["note.added"] * 3, "organisation.deleted"]
    assert set(lines[0]) >= {"seq", "at", "actor", "data_json", "prev_hash", "hash", "customer_id"}
    assert not Organisation.objects.filter(pk=org_id).exists()
    assert not AuditEntry.objects.filter(organisation_id=org_id).exists()
    assert not AuditAnchor.objects.filter(pk=org_id).exists()
    # The other organisation's log is whole.
    assert AuditEntry.objects.filter(organisation=other).count() == 2 and verify_org(other).ok

    call_command("verify_log", file=str(path))
    assert "5 entrées, chaîne intacte" in capsys.readouterr().out


def test_without_yes_nothing_is_deleted(logs):
    org, _other = logs
    with pytest.raises(CommandError, match="--yes"):
        call_command("org", "delete", "abc")
    assert Organisation.objects.filter(pk=org.pk).exists() and AuditEntry.objects.filter(organisation=org).count() == 4


def test_an_archive_changed_afterwards_is_refused(logs, tmp_path):
    call_command("org", "delete", "abc", "--yes")
    path = archives()[-1]
    lines = path.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[2])
    entry["actor"] = "quelqu'un d'autre"
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join([*lines[:2], json.dumps(entry), *lines[3:]]) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="entrée 2 .*contenu modifié"):
        call_command("verify_log", file=str(edited))
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="fin du journal tronquée"):
        call_command("verify_log", file=str(truncated))


def test_an_archive_verifies_with_no_database_at_all(logs, tmp_path):
    call_command("org", "delete", "abc", "--yes")
    env = {k: v for k, v in os.environ.items() if k not in {"RELANCE_DATA_DIR", "DATABASE_URL"}}
    result = subprocess.run([sys.executable, "-m", "relance.cli", "verify-log", "--file", str(archives()[-1])],
                            capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "chaîne intacte" in result.stdout
    assert list(tmp_path.rglob("*.sqlite3*")) == []  # no database was opened, not even created


def test_a_log_that_does_not_verify_is_not_deleted(logs, tamper):
    org, _other = logs
    tamper("UPDATE audit_auditentry SET actor = 'x' WHERE organisation_id = %s AND seq = 2", [org.pk])
    with pytest.raises(CommandError, match="journal d'audit altéré"):
        call_command("org", "delete", "abc", "--yes")
    assert Organisation.objects.filter(pk=org.pk).exists()
    assert AuditEntry.objects.filter(organisation=org).count() == 4


def test_the_admin_deletes_through_the_archive(logs, client, django_user_model):
    org, _other = logs
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)
    before = archives()
    assert client.get(delete_url(org)).status_code == 200
    response = client.post(delete_url(org), {"post": "yes"})
    assert response.status_code == 302
    assert not Organisation.objects.filter(pk=org.pk).exists()
    assert not AuditEntry.objects.filter(organisation_id=org.pk).exists()
    (path,) = sorted(set(archives()) - set(before))
    header, verdict = verify_archive(path)
    assert verdict.ok and json.loads(path.read_text().splitlines()[-1])["actor"] == "root"


def test_the_entries_of_a_living_organisation_are_never_purged(logs):
    org, _other = logs
    with pytest.raises(ValueError, match="still exists"):
        purge_deleted(org.pk)
    assert AuditEntry.objects.filter(organisation=org).count() == 4


@postgresql_only
@pytest.mark.parametrize("sql", [
    "UPDATE audit_auditentry SET kind = 'x' WHERE organisation_id = %s",
    "DELETE FROM audit_auditentry WHERE organisation_id = %s",
])
def test_after_a_deletion_the_trigger_still_refuses_the_other_organisations_entries(logs, sql):
    _org, other = logs
    call_command("org", "delete", "abc", "--yes")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [other.pk])
    assert AuditEntry.objects.filter(organisation=other).count() == 2 and verify_org(other).ok


def test_the_migration_archives_and_removes_the_entries_organisations_deleted_earlier_left(logs):
    from importlib import import_module

    from django.apps import apps

    org, other = logs
    other_id = other.pk
    Organisation.objects.filter(pk=other_id).delete()  # as the demo's rebuild did before: entries left behind
    assert AuditEntry.objects.filter(organisation_id=other_id).count() == 2

    migration = import_module("relance.audit.migrations.0002_org_deletion")
    migration.archive_orphans(apps, type("Editor", (), {"connection": connection})())

    assert not AuditEntry.objects.filter(organisation_id=other_id).exists()
    (path,) = (Path(settings.DATA_DIR) / "audit-archives").glob(f"deleted-{other_id}-*.jsonl")
    header, verdict = verify_archive(path)
    assert verdict.ok and verdict.count == 2 and header["organisation"]["id"] == other_id
    assert AuditEntry.objects.filter(organisation=org).count() == 4 and verify_org(org).ok  # the living stay
