from __future__ import annotations

import json

import pytest

from relance.cli import main
from relance.ledger.models import Customer, ImportBatch, Invoice
from tests.ledger.data import write_csv

# The command closes the database connections when it ends, as it does from a shell: the tests
# run outside a wrapping transaction so that the next query simply opens a new connection.
pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "Numéro de facture;Client;Nom client;Date de facture;Date d'échéance;Montant TTC;Déjà payé\n"
GOOD = "F1;C1;Dupont SARL;01/02/2026;03/03/2026;120,00;20,00\nF2;C1;Dupont SARL;02/02/2026;04/03/2026;60,00;\n"


def relance(*args: str) -> int:
    try:
        return main(["relance", "import", *args])
    except SystemExit as exc:
        return exc.code


def test_it_imports_and_says_what_it_did(org, tmp_path, capsys):
    path = write_csv(tmp_path, "factures.csv", HEADER + GOOD)
    assert relance("invoices", str(path), "--org", "abc") == 0
    out = capsys.readouterr().out
    assert "2 créés, 0 mis à jour, 0 inchangés" in out and "1 clients créés" in out
    assert Invoice.objects.count() == 2 and ImportBatch.objects.count() == 1


def test_json_prints_the_counts_and_nothing_else(org, tmp_path, capsys):
    path = write_csv(tmp_path, "factures.csv", HEADER + GOOD)
    relance("invoices", str(path), "--org", "abc", "--json")
    assert relance("invoices", str(path), "--org", "abc", "--json") == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == {"created": 0, "updated": 0, "unchanged": 2, "errors": []}


def test_dry_run_counts_but_writes_nothing(org, tmp_path, capsys):
    path = write_csv(tmp_path, "factures.csv", HEADER + GOOD)
    assert relance("invoices", str(path), "--org", "abc", "--dry-run", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"created": 2, "updated": 0, "unchanged": 0, "errors": []}
    assert not Invoice.objects.exists() and not Customer.objects.exists() and not ImportBatch.objects.exists()


def test_refused_input_exits_1_and_lists_each_problem(org, tmp_path, capsys):
    path = write_csv(tmp_path, "factures.csv", HEADER + GOOD + "F3;C1;;99/99/2026;03/03/2026;1;\n")
    assert relance("invoices", str(path), "--org", "abc") == 1
    err = capsys.readouterr().err
    assert f"{path}:4: Date de facture: date inexistante: '99/99/2026'" in err
    assert "rien n'a été écrit" in err
    assert not Invoice.objects.exists()


def test_refused_input_in_json_lists_every_problem(org, tmp_path, capsys):
    bad = "".join(f"F{i};C1;;01/02/2026;03/03/2026;abc;\n" for i in range(60))
    path = write_csv(tmp_path, "factures.csv", HEADER + bad)
    assert relance("invoices", str(path), "--org", "abc", "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["created"], data["updated"], data["unchanged"], len(data["errors"])) == (0, 0, 0, 60)
    assert data["errors"][0] == {"line": 2, "field": "Montant TTC", "message": "montant invalide: 'abc'"}


def test_at_most_50_problems_are_shown_then_how_many_more(org, tmp_path, capsys):
    bad = "".join(f"F{i};C1;;01/02/2026;03/03/2026;abc;\n" for i in range(60))
    path = write_csv(tmp_path, "factures.csv", HEADER + bad)
    assert relance("invoices", str(path), "--org", "abc") == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith(str(path))]
    assert len(lines) == 50


def test_the_count_of_hidden_problems_is_printed(org, tmp_path, capsys):
    bad = "".join(f"F{i};C1;;01/02/2026;03/03/2026;abc;\n" for i in range(60))
    path = write_csv(tmp_path, "factures.csv", HEADER + bad)
    relance("invoices", str(path), "--org", "abc")
    assert "... et 10 autres problèmes / and 10 more problems" in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["invoices", "{file}", "--org", "nope"],
    ["invoices", "{missing}", "--org", "abc"],
    ["suppliers", "{file}", "--org", "abc"],
    ["invoices", "{file}"],
    ["invoices", "{file}", "--org", "abc", "--map", "no-equals-sign"],
    ["invoices", "{file}", "--org", "abc", "--map", "Client=planète"],
])
def test_usage_errors_exit_2(org, tmp_path, args, capsys):
    path = write_csv(tmp_path, "factures.csv", HEADER + GOOD)
    args = [a.format(file=path, missing=tmp_path / "absent.csv") for a in args]
    assert relance(*args) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert not Invoice.objects.exists()


def test_map_options_name_unknown_columns(org, tmp_path, capsys):
    path = write_csv(tmp_path, "f.csv", "Pièce;Tiers;Nom;Le;Pour le;Net\nF1;C1;Dupont;01/02/2026;03/03/2026;10\n")
    args = ["invoices", str(path), "--org", "abc", "--map", "Pièce=number", "--map", "Tiers=customer",
            "--map", "Le=issue_date", "--map", "Pour le=Due date", "--map", "Net=total"]
    assert relance(*args) == 0, capsys.readouterr().err
    assert Invoice.objects.get().customer.name == "Dupont"
