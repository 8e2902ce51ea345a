from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relance.ledger.importers import import_file
from relance.ledger.importers.columns import plan_of, read_row, resolve
from relance.ledger.importers.payments import COLUMNS, check_payment
from relance.ledger.models import Allocation, Customer, Payment
from tests.ledger.data import assert_balance_invariant, write_csv

HEADER = "Date;Montant;Client;Facture;Référence;Mode de paiement\n"


@pytest.fixture
def invoices(make_invoice):
    return make_invoice("1200.00", number="F001"), make_invoice("300.00", number="F002")


def test_a_payment_naming_an_invoice_is_allocated_to_it(org, customer, invoices, tmp_path):
    path = write_csv(tmp_path, "p.csv", HEADER + "03/07/2026;500,00;C001;F001;VIR DUPONT F001;virement\n")
    result = import_file(org, "payments", path)
    assert (result.created, result.updated, result.unchanged, result.errors) == (1, 0, 0, [])
    payment = Payment.objects.get()
    assert (payment.date, payment.amount, payment.method, payment.customer) == (
        date(2026, 7, 3), Decimal("500.00"), "transfer", customer)
    assert payment.source_import_id == result.batch_id
    f001 = invoices[0]
    assert [(a.payment, a.amount) for a in f001.allocations.all()] == [(payment, Decimal("500.00"))]
    assert_balance_invariant(f001)
    assert f001.status == "partly_paid"


def test_only_what_the_invoice_owes_is_allocated(org, customer, invoices, tmp_path):
    path = write_csv(tmp_path, "p.csv", HEADER + "03/07/2026;350,00;;F002;CHQ 123;chèque\n")
    assert import_file(org, "payments", path).created == 1
    f002 = invoices[1]
    assert_balance_invariant(f002)
    assert (f002.open_balance, f002.status) == (Decimal("0.00"), "paid")
    payment = Payment.objects.get()
    assert payment.customer == customer  # taken from the invoice
    assert Allocation.objects.get().amount == Decimal("300.00")


def test_importing_the_same_file_twice_changes_nothing(org, customer, invoices, tmp_path):
    rows = ("03/07/2026;100,00;C001;;CHQ;chèque\n"
            "03/07/2026;100,00;C001;;CHQ;chèque\n"  # the same again: a second cheque, not a duplicate
            "04/07/2026;200,00;C001;F001;VIR;virement\n")
    path = write_csv(tmp_path, "p.csv", HEADER + rows)
    assert import_file(org, "payments", path).created == 3
    again = import_file(org, "payments", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Payment.objects.count() == 3 and Allocation.objects.count() == 1


def test_a_bank_transaction_id_finds_the_payment_to_update(org, customer, invoices, tmp_path):
    header = "Date;Montant;Client;Identifiant bancaire;Payeur;IBAN\n"
    iban = "FR14 2004 1010 0505 0001 3M02 606"
    first = write_csv(tmp_path, "p.csv", header + f"03/07/2026;100,00;C001;TX-1;DUPONT;{iban}\n")
    import_file(org, "payments", first)
    second = write_csv(tmp_path, "q.csv", header + "03/07/2026;150,00;C001;TX-1;DUPONT SARL;\n")
    result = import_file(org, "payments", second)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    payment = Payment.objects.get()
    assert (payment.amount, payment.payer_name, payment.payer_iban, payment.bank_transaction_id) == (
        Decimal("150.00"), "DUPONT SARL", "", "TX-1")


def test_a_bank_transaction_id_twice_in_one_file_is_an_error(org, customer, tmp_path):
    path = write_csv(tmp_path, "p.csv", "Date;Montant;Client;Transaction id\n"
                                        "03/07/2026;1;C001;TX-1\n04/07/2026;2;C001;TX-1\n")
    result = import_file(org, "payments", path)
    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (3, "Transaction id", "identifiant en double (déjà ligne 2)")
    ]
    assert not Payment.objects.exists()


def test_unknown_references_and_bad_amounts_are_errors(org, customer, other_org, invoices, tmp_path):
    other = Customer.objects.create(organisation=org, external_id="C002", name="Autre")
    rows = (
        "03/07/2026;100;C404;;;\n"
        "03/07/2026;100;C001;F404;;\n"
        "03/07/2026;100;C002;F001;;\n"
        "03/07/2026;-5;C001;;;\n"
        "03/07/2026;5;C001;;;bitcoin\n"
    )
    result = import_file(org, "payments", write_csv(tmp_path, "p.csv", HEADER + rows))
    assert [(e.line, e.field) for e in result.errors] == [
        (2, "Client"), (3, "Facture"), (4, "Facture"), (5, "Montant"), (6, "Mode de paiement"),
    ]
    assert "n'est pas celle du client C002" in result.errors[2].message
    assert not Payment.objects.exists() and other.pk


def test_a_payment_already_allocated_cannot_shrink_below_its_allocations(org, customer, invoices, tmp_path):
    header = "Date;Montant;Facture;Code paiement\n"
    import_file(org, "payments", write_csv(tmp_path, "p.csv", header + "03/07/2026;500;F001;P1\n"))
    result = import_file(org, "payments", write_csv(tmp_path, "q.csv", header + "03/07/2026;400;F001;P1\n"))
    assert [(e.line, e.field) for e in result.errors] == [(2, "Montant")]
    assert Payment.objects.get().amount == Decimal("500.00")


SLOTS, _ = resolve(HEADER.strip().split(";"), COLUMNS)
PLAN = plan_of(SLOTS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=20), min_size=0, max_size=8))
def test_any_row_gives_a_payment_or_clear_problems(cells):
    values, problems = read_row(cells, PLAN)
    if not problems:
        problems = check_payment(values, "EUR")
    for field, message in problems:
        assert field and message
