"""Nothing changes or removes an entry: the model refuses, and PostgreSQL's trigger refuses too."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from relance.audit.log import Event, record_many
from relance.audit.models import AppendOnlyError, AuditEntry
from relance.audit.verify import verify_org

postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'")


def _fill(org, n=3):
    record_many(org, [Event("note.added", "note", str(i), f"C{i}", None, {"i": i}) for i in range(1, n + 1)])


def test_the_model_refuses_to_save_an_existing_entry(org):
    _fill(org)
    entry = AuditEntry.objects.get(organisation=org, seq=2)
    entry.data = {"i": 99}
    with pytest.raises(AppendOnlyError):
        entry.save()


def test_the_model_refuses_to_delete_an_entry(org):
    _fill(org)
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.get(organisation=org, seq=1).delete()


def test_querysets_refuse_update_and_delete(org):
    _fill(org)
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(organisation=org).update(kind="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(organisation=org).delete()
    assert verify_org(org).ok and AuditEntry.objects.filter(organisation=org).count() == 3


@postgresql_only
@pytest.mark.parametrize("sql", [
    "UPDATE audit_auditentry SET kind = 'x' WHERE organisation_id = %s",
    "DELETE FROM audit_auditentry WHERE organisation_id = %s",
])
def test_the_postgresql_trigger_refuses_update_and_delete(org, sql):
    _fill(org)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [org.pk])
    assert verify_org(org).ok


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain(org):
    """Two threads, each its own connection and transactions, append 200 entries each at once."""
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(name: str) -> None:
        try:
            start.wait()
            for i in range(40):
                with transaction.atomic():
                    record_many(org, [Event("note.added", "note", f"{name}{i}-{j}", name, None, {"j": j})
                                      for j in range(5)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = list(AuditEntry.objects.filter(organisation=org).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 401))
    verdict = verify_org(org)
    assert verdict.ok and verdict.count == 400
    # Both writers interleaved: the lock serialised them, it did not run one after the other by luck.
    labels = list(AuditEntry.objects.filter(organisation=org).order_by("seq").values_list("object_label", flat=True))
    assert sum(1 for a, b in zip(labels, labels[1:], strict=False) if a != b) > 1
