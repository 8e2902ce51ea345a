"""Credit notes from CSV/XLSX: applied to the invoice a row names, else left as the customer's credit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from relance.cli import main
from relance.ledger.credit_notes import customer_credit
from relance.ledger.importers import import_file
from relance.ledger.models import Allocation, CreditNote, ImportBatch, Invoice, InvoiceStatus
from tests.ledger.data import assert_balance_invariant, write_csv, write_xlsx

D = Decimal
HEADER = "Numéro d'avoir;Date;Client;Montant;Facture;Devise\n"


@pytest.fixture
def invoices(make_invoice):
    return make_invoice(total="1200.00", number="FA-1"), make_invoice(total="300.00", number="FA-2")


def test_a_credit_note_is_applied_to_the_invoice_it_names(org, invoices, tmp_path):
    path = write_csv(tmp_path, "avoirs.csv", HEADER + "AV-1;15/06/2026;C001;200,00;FA-1;EUR\n")
    result = import_file(org, "credit-notes", path)

    assert result.ok, result.errors
    assert result.created == 1
    note = CreditNote.objects.get()
    assert (note.number, str(note.date), note.total, note.currency) == ("AV-1", "2026-06-15", D("200.00"), "EUR")
    assert note.invoice == invoices[0] and note.customer.external_id == "C001"
    invoice = Invoice.objects.get(number="FA-1")
    assert invoice.open_balance == D("1000.00") and invoice.status == InvoiceStatus.PARTLY_PAID
    assert_balance_invariant(invoice)


def test_what_exceeds_the_invoice_stays_the_customers_credit(org, invoices, tmp_path):
    path = write_csv(tmp_path, "avoirs.csv", HEADER + "AV-1;15/06/2026;;500,00;FA-2;\n")
    assert import_file(org, "credit-notes", path).ok

    note = CreditNote.objects.get()
    assert note.customer == invoices[1].customer  # the invoice gives the customer
    assert Allocation.objects.get(credit_note=note).amount == D("300.00")
    assert Invoice.objects.get(number="FA-2").status == InvoiceStatus.PAID
    assert customer_credit(note) == D("200.00")


def test_a_credit_note_without_invoice_is_customer_credit(org, customer, tmp_path):
    path = write_csv(tmp_path, "avoirs.csv", HEADER + "AV-9;15/06/2026;C001;80;;\n")
    assert import_file(org, "credit-notes", path).ok

    note = CreditNote.objects.get()
    assert note.invoice is None and customer_credit(note) == D("80.00") and not Allocation.objects.exists()


def test_every_bad_row_is_named_and_nothing_is_imported(org, invoices, tmp_path):
    rows = ("AV-1;15/06/2026;C001;100;FA-1;EUR\n"
            "AV-2;15/06/2026;C001;100;FA-404;EUR\n"
            "AV-3;15/06/2026;C404;100;;EUR\n"
            "AV-4;15/06/2026;C001;-5;FA-1;EUR\n"
            "AV-1;15/06/2026;C001;100;FA-1;EUR\n"
            "AV-5;15/06/2026;C001;100;FA-2;USD\n"
            "AV-6;15/06/2026;;100;;EUR\n")
    path = write_csv(tmp_path, "avoirs.csv", HEADER + rows)
    result = import_file(org, "credit-notes", path)

    assert not result.ok
    assert result.error_lines() == [
        f"{path}:3: Facture: facture inconnue: FA-404",
        f"{path}:4: Client: client inconnu: C404",
        f"{path}:5: Montant: le montant d'un avoir doit être positif",
        f"{path}:6: Numéro d'avoir: numéro d'avoir en double (déjà ligne 2)",
        f"{path}:7: Devise: devise USD différente de celle de la facture (EUR)",
        f"{path}:8: Client: client ou facture obligatoire",
    ]
    assert not CreditNote.objects.exists() and not Allocation.objects.exists()
    assert Invoice.objects.get(number="FA-1").open_balance == D("1200.00")
    assert not ImportBatch.objects.exists()


def test_reimporting_changes_nothing_and_a_changed_amount_is_applied_again(org, invoices, tmp_path):
    path = write_csv(tmp_path, "avoirs.csv", HEADER + "AV-1;15/06/2026;C001;200,00;FA-1;EUR\n")
    import_file(org, "credit-notes", path)
    again = import_file(org, "credit-notes", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert Allocation.objects.count() == 1

    path = write_csv(tmp_path, "avoirs.csv", HEADER + "AV-1;15/06/2026;C001;150,00;FA-1;EUR\n")
    changed = import_file(org, "credit-notes", path)

    assert changed.updated == 1
    assert list(Allocation.objects.values_list("amount", flat=True)) == [D("150.00")]
    assert Invoice.objects.get(number="FA-1").open_balance == D("1050.00")


def test_an_xlsx_file_with_english_headers(org, invoices, tmp_path):
    path = write_xlsx(tmp_path, "credit.xlsx", [["Credit note", "Issue date", "Customer", "Amount", "Invoice"],
                                                ["CN-7", "2026-06-20", "C001", 99.9, "FA-2"]])
    result = import_file(org, "credit-notes", path)

    assert result.ok, result.errors
    assert Invoice.objects.get(number="FA-2").open_balance == D("200.10")


@pytest.mark.django_db(transaction=True)
def test_the_command_imports_credit_notes(org, invoices, tmp_path, capsys):
    path = write_csv(tmp_path, "avoirs.csv", HEADER + "AV-1;15/06/2026;C001;200,00;FA-1;EUR\n")
    try:
        code = main(["relance", "import", "credit-notes", str(path), "--org", "abc"])
    except SystemExit as exc:
        code = exc.code
    assert code == 0
    assert "1 créés, 0 mis à jour, 0 inchangés" in capsys.readouterr().out
    assert Invoice.objects.get(number="FA-1").open_balance == D("1000.00")


def test_the_imports_page_imports_credit_notes(client, settings, alice, invoices):
    settings.RELANCE_IMPORT_BACKGROUND = False
    client.force_login(alice)
    data = (HEADER + "AV-1;15/06/2026;C001;200,00;FA-1;EUR\n").encode()
    response = client.post("/o/abc/imports/", {"kind": "credit-notes", "file": SimpleUploadedFile("avoirs.csv", data)})
    assert response.status_code == 302
    assert not CreditNote.objects.exists()  # the dry run wrote nothing
    assert client.post(response.url, {"action": "import"}).status_code == 302

    assert CreditNote.objects.get().invoice == invoices[0]
    assert Invoice.objects.get(number="FA-1").open_balance == D("1000.00")
    assert ImportBatch.objects.get().kind == "credit-notes"
