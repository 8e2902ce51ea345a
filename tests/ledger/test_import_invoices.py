from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from relance.ledger import balances
from relance.ledger.importers import import_file
from relance.ledger.importers.columns import plan_of, read_row, resolve
from relance.ledger.importers.invoices import COLUMNS, check_invoice
from relance.ledger.models import Allocation, Customer, ImportBatch, Invoice, Payment
from tests.ledger.data import assert_balance_invariant, write_csv

HEADER = ("Numéro de facture;Code client;Raison sociale;Date de facture;Date d'échéance;Montant HT;TVA;Montant TTC;"
          "Devise;Déjà payé\n")
ROWS = (
    "F001;C001;Dupont SARL;15/01/2026;14/02/2026;1 000,00;200,00;1 200,00;EUR;\n"
    "F002;C001;Dupont SARL;2026-01-20;2026-02-19;500;100;600;EUR;250,50\n"
    "F003;C001;Dupont SARL;01/02/2026;03/03/2026;100,00;20,00;120,00;EUR;120,00\n"
)


def test_it_creates_invoices_from_a_french_export(org, customer, tmp_path):
    result = import_file(org, "invoices", write_csv(tmp_path, "factures.csv", HEADER + ROWS))
    assert (result.created, result.updated, result.unchanged, result.errors) == (3, 0, 0, [])
    f1 = Invoice.objects.get(number="F001")
    assert (f1.customer, f1.issue_date, f1.due_date) == (customer, date(2026, 1, 15), date(2026, 2, 14))
    assert (f1.amount_excl_tax, f1.tax, f1.total, f1.open_balance, f1.status) == (
        Decimal("1000.00"), Decimal("200.00"), Decimal("1200.00"), Decimal("1200.00"), "open")
    assert f1.source_import_id == result.batch_id == ImportBatch.objects.get().pk


def test_the_paid_part_becomes_an_external_allocation(org, customer, tmp_path):
    import_file(org, "invoices", write_csv(tmp_path, "factures.csv", HEADER + ROWS))
    f2, f3 = Invoice.objects.get(number="F002"), Invoice.objects.get(number="F003")
    assert (f2.open_balance, f2.status) == (Decimal("349.50"), "partly_paid")
    assert (f3.open_balance, f3.status) == (Decimal("0.00"), "paid")
    assert [(a.source, a.amount, a.payment_id) for a in f2.allocations.all()] == [("external", Decimal("250.50"), None)]
    assert Allocation.objects.count() == 2
    for invoice in Invoice.objects.all():
        assert_balance_invariant(invoice)


def test_a_missing_total_is_the_amount_plus_tax(org, customer, tmp_path):
    path = write_csv(tmp_path, "f.csv", "Invoice number,Customer,Invoice date,Due date,Amount excl. tax,Tax\n"
                                        "F9,C001,2026-03-01,2026-03-31,\"1,234.50\",246.90\n")
    assert import_file(org, "invoices", path).created == 1
    assert Invoice.objects.get(number="F9").total == Decimal("1481.40")


def test_a_total_that_is_not_amount_plus_tax_is_refused(org, customer, tmp_path):
    path = write_csv(tmp_path, "f.csv", HEADER + ROWS.replace("1 200,00", "1 200,01"))
    result = import_file(org, "invoices", path)
    assert [(e.line, e.field) for e in result.errors] == [(2, "Montant TTC")]
    assert "n'est pas égal" in result.errors[0].message
    assert not Invoice.objects.exists()


def test_importing_the_same_file_twice_changes_nothing(org, customer, tmp_path):
    path = write_csv(tmp_path, "f.csv", HEADER + ROWS)
    import_file(org, "invoices", path)
    again = import_file(org, "invoices", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Allocation.objects.count() == 2


def test_a_changed_row_updates_the_invoice_and_its_paid_part(org, customer, tmp_path):
    import_file(org, "invoices", write_csv(tmp_path, "f.csv", HEADER + ROWS))
    changed = ROWS.replace("14/02/2026", "28/02/2026").replace(";250,50", ";600,00")
    result = import_file(org, "invoices", write_csv(tmp_path, "g.csv", HEADER + changed))
    assert (result.created, result.updated, result.unchanged) == (0, 2, 1)
    f1, f2 = Invoice.objects.get(number="F001"), Invoice.objects.get(number="F002")
    assert f1.due_date == date(2026, 2, 28)
    assert (f2.open_balance, f2.status) == (Decimal("0.00"), "paid")
    assert_balance_invariant(f1)
    assert_balance_invariant(f2)


def test_a_paid_part_beyond_what_payments_leave_is_refused(org, customer, make_invoice, tmp_path):
    invoice = make_invoice("1200.00", number="F001")
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 2, 1), amount=1000)
    balances.allocate(invoice, Decimal("1000.00"), payment=payment)
    path = write_csv(tmp_path, "f.csv", HEADER + "F001;C001;;15/01/2026;14/02/2026;1000;200;1200;EUR;300\n")
    result = import_file(org, "invoices", path)
    assert [(e.line, e.field) for e in result.errors] == [(2, "Déjà payé")]
    assert_balance_invariant(invoice)


def test_a_missing_customer_is_created_from_the_invoice_row(org, tmp_path):
    path = write_csv(tmp_path, "f.csv", HEADER + ROWS.replace("C001", "C042"))
    result = import_file(org, "invoices", path)
    assert result.created == 3 and result.extra == {"customers_created": 1}
    created = Customer.objects.get(organisation=org, external_id="C042")
    assert created.name == "Dupont SARL"
    assert created.invoices.count() == 3


def test_a_missing_customer_without_a_name_column_is_an_error(org, tmp_path):
    path = write_csv(tmp_path, "f.csv", "Numéro de facture;Client;Date de facture;Date d'échéance;Montant TTC\n"
                                        "F1;C404;01/02/2026;01/03/2026;10,00\n")
    result = import_file(org, "invoices", path)
    assert [(e.line, e.field) for e in result.errors] == [(2, "Client")]
    assert "client inconnu: C404" in result.errors[0].message
    assert not Customer.objects.exists()


def test_an_invoice_number_twice_in_one_file_is_an_error(org, customer, tmp_path):
    path = write_csv(tmp_path, "f.csv", HEADER + ROWS + ROWS.splitlines(keepends=True)[0])
    result = import_file(org, "invoices", path)
    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (5, "Numéro de facture", "numéro de facture en double (déjà ligne 2)")
    ]
    assert not Invoice.objects.exists()


def test_every_bad_cell_is_listed_with_its_line(org, customer, tmp_path):
    bad = (
        "F10;C001;;31/02/2026;01/03/2026;abc;20;;EUR;\n"
        "F11;C001;;01/02/2026;01/01/2026;100;20;120;XYZ;\n"
        "F12;C001;;01/02/2026;01/03/2026;100;20;120;EUR;500\n"
        ";C001;;01/02/2026;01/03/2026;-100;-20;-120;EUR;\n"
    )
    result = import_file(org, "invoices", write_csv(tmp_path, "f.csv", HEADER + bad))
    found = {(e.line, e.field) for e in result.errors}
    assert found == {
        (2, "Date de facture"), (2, "Montant HT"), (3, "Devise"), (4, "Déjà payé"), (5, "Numéro de facture"),
    }
    # Line 3's currency is wrong, and so is its due date: the latter shows once the cells are readable.
    fixed = bad.replace("XYZ", "EUR")
    result = import_file(org, "invoices", write_csv(tmp_path, "g.csv", HEADER + fixed))
    assert (3, "Date d'échéance") in {(e.line, e.field) for e in result.errors}


def test_a_negative_invoice_is_refused(org, customer, tmp_path):
    path = write_csv(tmp_path, "f.csv", HEADER + "F1;C001;;01/02/2026;01/03/2026;-100;-20;-120;EUR;\n")
    result = import_file(org, "invoices", path)
    assert {e.field for e in result.errors} == {"Montant HT", "TVA", "Montant TTC"}


def test_invoices_of_another_organisation_are_not_touched(org, other_org, customer, tmp_path):
    Customer.objects.create(organisation=other_org, external_id="C001", name="Autre")
    import_file(other_org, "invoices", write_csv(tmp_path, "f.csv", HEADER + ROWS))
    result = import_file(org, "invoices", write_csv(tmp_path, "f.csv", HEADER + ROWS))
    assert result.created == 3
    assert Invoice.objects.filter(number="F001").count() == 2
    assert Invoice.objects.get(organisation=org, number="F001").customer == customer


SLOTS, _ = resolve(HEADER.strip().split(";"), COLUMNS)
PLAN = plan_of(SLOTS)
cell = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"-?[0-9 ]{1,15}([,.][0-9]{0,4})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(cell, min_size=0, max_size=12))
def test_any_row_gives_an_invoice_or_clear_problems(cells):
    values, problems = read_row(cells, PLAN)
    if not problems:
        problems = check_invoice(values, "EUR")
        if not problems:
            assert values["total"] == values["amount_excl_tax"] + values["tax"]
            assert Decimal(0) <= values.get("paid", Decimal(0)) <= values["total"]
    for field, message in problems:
        assert field and message
