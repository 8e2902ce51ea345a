"""The chain: appends give seq 1, 2, 3… chained by hash; each kind of tampering is found and named."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from relance.audit.chain import GENESIS, Row, entry_hash
from relance.audit.log import Event, record, record_many
from relance.audit.models import AuditAnchor, AuditEntry
from relance.audit.verify import verify_org


def _fill(org, n: int = 6) -> None:
    record_many(org, [Event("note.added", "note", str(i), f"C{i:03d}", None, {"text": f"note {i}", "i": i})
                      for i in range(1, n + 1)])


def test_entries_are_numbered_and_chained_per_organisation(org, other_org, customer):
    _fill(org, 3)
    record("customer.paused", customer, None, {"until": date(2027, 1, 15), "amount": Decimal("12.50")})
    _fill(other_org, 2)
    entries = list(AuditEntry.objects.filter(organisation=org).order_by("seq"))
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    paused = entries[-1]
    assert (paused.object_type, paused.object_label, paused.customer_id) == ("customer", "C001", customer.pk)
    assert paused.data["until"] == "2027-01-15" and paused.data["amount"] == "12.50"  # as strings, exactly
    assert paused.actor == "system"
    others = AuditEntry.objects.filter(organisation=other_org).order_by("seq")
    assert list(others.values_list("seq", flat=True)) == [1, 2]
    anchor = AuditAnchor.objects.get(pk=org.pk)
    assert (anchor.count, anchor.last_hash) == (4, paused.hash)


def test_the_stored_hash_is_the_hash_of_the_stored_content(org):
    _fill(org, 2)
    e = AuditEntry.objects.get(organisation=org, seq=2)
    row = Row(e.organisation_id, e.seq, e.at, e.kind, e.actor, e.actor_id, e.object_type, e.object_id,
              e.object_label, e.customer_id, e.data_json, e.prev_hash)
    assert entry_hash(row) == e.hash


def test_an_intact_chain_verifies(org):
    _fill(org, 30)
    verdict = verify_org(org)
    assert verdict.ok and verdict.count == 30
    assert verdict.last_hash == AuditEntry.objects.get(organisation=org, seq=30).hash


def test_an_empty_log_verifies(org):
    assert verify_org(org).ok and verify_org(org).count == 0


def test_data_edited_by_raw_sql_is_found_and_named(org, tamper):
    _fill(org)
    text = '{"i":3,"text":"note 3 (changed)"}'
    assert tamper("UPDATE audit_auditentry SET data_json = %s WHERE organisation_id = %s AND seq = 3",
                  [text, org.pk]) == 1
    problem = verify_org(org).problem
    assert (problem.seq, problem.kind, problem.object) == (3, "note.added", "note C003")
    assert "contenu modifié" in problem.reason


def test_a_deleted_entry_is_found_and_named(org, tamper):
    _fill(org)
    assert tamper("DELETE FROM audit_auditentry WHERE organisation_id = %s AND seq = 4", [org.pk]) == 1
    problem = verify_org(org).problem
    assert problem.seq == 4 and "supprimée" in problem.reason


def test_a_deleted_entry_with_the_next_ones_renumbered_is_found(org, tamper):
    _fill(org)
    tamper("DELETE FROM audit_auditentry WHERE organisation_id = %s AND seq = 4", [org.pk])
    for seq in (5, 6):
        tamper("UPDATE audit_auditentry SET seq = %s WHERE organisation_id = %s AND seq = %s", [seq - 1, org.pk, seq])
    problem = verify_org(org).problem
    assert (problem.seq, problem.object) == (4, "note C005")
    assert "supprimée ou déplacée" in problem.reason


def test_two_swapped_entries_are_found_and_named(org, tamper):
    _fill(org)
    tamper("UPDATE audit_auditentry SET seq = 1000 WHERE organisation_id = %s AND seq = 2", [org.pk])
    tamper("UPDATE audit_auditentry SET seq = 2 WHERE organisation_id = %s AND seq = 3", [org.pk])
    tamper("UPDATE audit_auditentry SET seq = 3 WHERE organisation_id = %s AND seq = 1000", [org.pk])
    problem = verify_org(org).problem
    assert (problem.seq, problem.kind, problem.object) == (2, "note.added", "note C003")
    assert "interverties" in problem.reason


def test_a_truncated_tail_is_found_by_the_anchor(org, tamper):
    _fill(org)
    assert tamper("DELETE FROM audit_auditentry WHERE organisation_id = %s AND seq > 4", [org.pk]) == 2
    verdict = verify_org(org)
    assert verdict.count == 4  # what is left is a chain intact by itself
    assert verdict.problem.seq == 5 and "tronquée" in verdict.problem.reason


def test_entries_appended_behind_the_anchor_are_found(org, tamper):
    _fill(org, 3)
    e = AuditEntry.objects.get(organisation=org, seq=3)
    forged = Row(org.pk, 4, e.at, "note.added", "mallory", None, "note", "9", "C009", None, "{}", e.hash)
    tamper("INSERT INTO audit_auditentry (organisation_id, seq, at, kind, actor, object_type, object_id, "
           "object_label, data_json, prev_hash, hash) VALUES (%s, 4, %s, 'note.added', 'mallory', 'note', '9', "
           "'C009', '{}', %s, %s)", [org.pk, e.at, e.hash, entry_hash(forged)])
    problem = verify_org(org).problem
    assert problem.seq == 4 and "hors du journal" in problem.reason


def test_a_hash_noted_outside_the_database_catches_a_rewritten_log(org):
    _fill(org, 3)
    noted = AuditEntry.objects.get(organisation=org, seq=2).hash
    assert verify_org(org, expect=(2, noted)).ok
    problem = verify_org(org, expect=(2, "f" * 64)).problem
    assert problem.seq == 2 and "réécrit" in problem.reason


def test_an_entry_written_in_a_rolled_back_transaction_leaves_nothing(org, customer):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        record("customer.paused", customer)
        raise RuntimeError("the write fails after its entry")
    assert not AuditEntry.objects.filter(organisation=org).exists()
    assert AuditAnchor.objects.filter(pk=org.pk, count__gt=0).count() == 0
    _fill(org, 1)
    assert verify_org(org).ok
