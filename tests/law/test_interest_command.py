"""`relance interest` (text and JSON) and `relance rates check | update`, run as a person runs them."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest
from django.conf import settings

from relance.cli import main
from relance.law.rates import DATA_DIR, default_rate_table
from relance.ledger import balances
from relance.ledger.models import Payment

# The command closes the database connections when it ends, as from a shell (see test_import_command).
pytestmark = pytest.mark.django_db(transaction=True)


def relance(*args: str) -> int:
    try:
        return main(["relance", *args])
    except SystemExit as exc:
        return exc.code


@pytest.fixture
def partly_paid(org, customer, make_invoice):
    inv = make_invoice(total="1000.00", due=date(2025, 1, 31), issue=date(2025, 1, 1), number="F2025-007")
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2025, 2, 15), amount=D("400.00"))
    balances.allocate(inv, D("400.00"), payment=payment)
    return inv


def test_interest_json_prints_each_period_and_the_totals(partly_paid, capsys):
    # Hand-checked in tests/law/test_daily_balance.py: 5.40 + 3.25 = 8.65; 600.00 + 8.65 + 40.00 = 648.65.
    assert relance("interest", "--org", "abc", "--invoice", "F2025-007", "--as-of", "2025-03-02", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "invoice": "F2025-007", "as_of": "2025-03-02",
        "periods": [
            {"start": "2025-02-01", "end": "2025-02-15", "days": 15, "base": "1000.00", "rate": "13.15",
             "amount": "5.40"},
            {"start": "2025-02-16", "end": "2025-03-02", "days": 15, "base": "600.00", "rate": "13.15",
             "amount": "3.25"},
        ],
        "interest": "8.65", "indemnity": "40.00", "total": "648.65",
    }


def test_interest_text_shows_the_computation(partly_paid, capsys):
    assert relance("interest", "--org", "abc", "--invoice", "F2025-007", "--as-of", "2025-03-02") == 0
    out = capsys.readouterr().out
    assert "2025-02-16  2025-03-02     15        600.00    13.15        3.25" in out
    assert "Intérêts : 8.65" in out and "Indemnité forfaitaire : 40.00" in out and "Total réclamé : 648.65" in out


def test_interest_names_an_unknown_invoice(partly_paid, capsys):
    assert relance("interest", "--org", "abc", "--invoice", "NOPE") == 1
    assert "--invoice 'NOPE'" in capsys.readouterr().err


@pytest.fixture
def updated_tables():
    folder = settings.DATA_DIR / "rates"
    yield folder
    for name in ("ecb_rates.csv", "taux_legal.csv"):
        (folder / name).unlink(missing_ok=True)
    default_rate_table.cache_clear()


def test_rates_check_warns_and_fails_when_a_half_year_is_missing(updated_tables, capsys):
    assert relance("rates", "check", "--date", "2026-03-01") == 1
    err = capsys.readouterr().err
    assert "2026-H2: taux BCE" in err and "2026-H2: taux de l'intérêt légal" in err and "2026-H1" not in err


def test_rates_update_adds_a_half_year_and_check_then_passes(updated_tables, tmp_path, capsys):
    legal = (DATA_DIR / "taux_legal.csv").read_text(encoding="utf-8")
    ecb = (DATA_DIR / "ecb_rates.csv").read_text(encoding="utf-8")
    # Test figures, not published rates: the update mechanism is what is checked here.
    new_legal = legal.replace("# checked_until: 2026-01-01", "# checked_until: 2026-07-01") + \
        '2026-07-01,6.50,2.50,"test: arrêté of the second half of 2026"\n'
    new_ecb = ecb.replace("# checked_until: 2026-02-05", "# checked_until: 2026-07-01")
    (tmp_path / "legal.csv").write_text(new_legal, encoding="utf-8")
    (tmp_path / "ecb.csv").write_text(new_ecb, encoding="utf-8")
    assert relance("rates", "update", "--file", str(tmp_path / "legal.csv")) == 0
    assert relance("rates", "update", "--file", str(tmp_path / "ecb.csv")) == 0
    assert default_rate_table().legal_rate_on(date(2026, 8, 1)).other_cases == D("2.50")
    assert relance("rates", "check", "--date", "2026-03-01") == 0
    assert (updated_tables / "taux_legal.csv").read_text(encoding="utf-8") == new_legal


def test_rates_update_refuses_a_bad_file_and_changes_nothing(updated_tables, tmp_path, capsys):
    legal = (DATA_DIR / "taux_legal.csv").read_text(encoding="utf-8")
    bad = legal + "2026-07-01,six,2.50,\"test\"\n"
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    assert relance("rates", "update", "--file", str(tmp_path / "bad.csv")) == 1
    err = capsys.readouterr().err
    assert "bad.csv, line" in err and "field consumer_creditor" in err and "rien n'a été modifié" in err
    assert not (updated_tables / "taux_legal.csv").exists()
    # Dropping or rewriting a known row is refused too.
    rewritten = legal.replace("2025-07-01,6.65,2.76", "2025-07-01,6.65,2.77")
    (tmp_path / "rewritten.csv").write_text(rewritten, encoding="utf-8")
    assert relance("rates", "update", "--file", str(tmp_path / "rewritten.csv")) == 1
    assert "2025-07-01 is missing or differs" in capsys.readouterr().err
    assert not (updated_tables / "taux_legal.csv").exists()
