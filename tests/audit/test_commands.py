"""relance verify-log and relance audit, through relance.cli.main as a user types them."""

from __future__ import annotations

import json
from datetime import date

import pytest

from relance.audit.models import AuditEntry
from relance.cli import main
from relance.dunning import actions

# relance.cli.main closes the database connections when a command ends, as `relance` does: each test
# commits instead of running inside a transaction that the close would cut.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history(org, alice, customer, make_invoice):
    invoice = make_invoice(number="F-1")
    actions.open_dispute(invoice, "colis abîmé", user=alice)
    actions.close_dispute(invoice, "avoir", user=alice)
    actions.pause_customer(customer, date(2099, 1, 1), "négociation")
    return invoice


def verify(*args: str) -> int:
    try:
        return main(["relance", "verify-log", "--org", "abc", *args])
    except SystemExit as exc:
        return exc.code


def test_an_intact_log_exits_0_with_the_count_and_last_hash(history, org, capsys):
    assert verify() == 0
    out = capsys.readouterr().out
    last = AuditEntry.objects.filter(organisation=org).order_by("-seq").first()
    assert out.startswith(f"abc : 3 entrées, chaîne intacte, dernière empreinte {last.hash} (")
    assert "entrées/s" in out


def test_an_edited_entry_exits_1_naming_it(history, org, tamper, capsys):
    tamper("UPDATE audit_auditentry SET actor = 'mallory' WHERE organisation_id = %s AND seq = 2", [org.pk])
    assert verify() == 1
    err = capsys.readouterr().err
    assert "entrée 2 (dispute.closed, dispute F-1) : contenu modifié" in err


def test_json_says_the_same(history, org, tamper, capsys):
    assert verify("--json") == 0
    ok = json.loads(capsys.readouterr().out)
    assert (ok["ok"], ok["entries"], ok["problem"]) == (True, 3, None) and ok["rows_per_second"] >= 0
    tamper("DELETE FROM audit_auditentry WHERE organisation_id = %s AND seq = 3", [org.pk])
    assert verify("--json") == 1
    bad = json.loads(capsys.readouterr().out)
    assert bad["ok"] is False and bad["problem"]["seq"] == 3 and "tronquée" in bad["problem"]["reason"]


def test_expect_checks_a_hash_noted_elsewhere(history, org, capsys):
    noted = AuditEntry.objects.get(organisation=org, seq=1).hash
    assert verify("--expect", f"1:{noted}") == 0
    assert verify("--expect", "1:" + "0" * 64) == 1
    assert verify("--expect", "nonsense") == 1
    assert "SEQ:HASH" in capsys.readouterr().err


def test_the_cli_is_the_actor_without_a_user(org, customer, capsys):
    assert main(["relance", "pause", "--org", "abc", "--customer", "C001", "--until", "2099-01-01",
                 "--reason", "test"]) == 0
    assert AuditEntry.objects.get(organisation=org, kind="customer.paused").actor == "cli"


def test_audit_lists_the_entries_newest_first(history, org, capsys):
    assert main(["relance", "audit", "--org", "abc"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["3", "2", "1"]
    assert "customer.paused" in lines[0] and "dispute.opened" in lines[2]
    assert main(["relance", "audit", "--org", "abc", "--customer", "C001", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in entries] == ["customer.paused", "dispute.closed", "dispute.opened"]
    assert entries[1]["data"]["resolution"] == "avoir" and entries[0]["actor"] == "system"
