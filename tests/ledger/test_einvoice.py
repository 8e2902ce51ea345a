"""E-invoice import: Factur-X / ZUGFeRD PDFs, CII and UBL XML, read from real samples (tests/ledger/samples).

Every expected value below was read by hand from the sample file it is checked against.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from weasyprint import HTML

from relance.cli import main
from relance.ledger.importers.einvoice import detect, import_einvoices, read_file
from relance.ledger.importers.einvoice_xml import EInvoiceError, read_document
from relance.ledger.models import (
    Allocation,
    AllocationSource,
    Contact,
    CreditNote,
    Customer,
    EInvoice,
    ImportBatch,
    Invoice,
    InvoiceStatus,
)
from tests.ledger.data import assert_balance_invariant

SAMPLES = Path(__file__).parent / "samples"
D = Decimal


def sample(name: str) -> Path:
    path = SAMPLES / name
    assert path.is_file(), path  # a missing sample fails, never skips
    return path


@pytest.fixture
def moulin(org):
    """The seller of the French samples: 'Au bon moulin', SIREN 999999998, VAT FR11999999998."""
    org.legal_name, org.siren, org.vat_number = "Au bon moulin", "999999998", "FR11999999998"
    org.save()
    return org


@pytest.fixture
def anyone(org):
    """An organisation without identifiers: it accepts the samples of any seller."""
    org.siren = org.vat_number = ""
    org.save()
    return org


def nothing_written() -> bool:
    return not (Invoice.objects.exists() or CreditNote.objects.exists() or Customer.objects.exists()
                or EInvoice.objects.exists() or ImportBatch.objects.exists())


def test_a_ubl_invoice_gives_every_field(moulin):
    report = import_einvoices(moulin, sample("ubl-21-en16931.xml"))

    assert report.ok, report.errors
    invoice = Invoice.objects.get()
    assert invoice.number == "F124212"
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 6, 17), date(2026, 7, 16))
    assert invoice.currency == "EUR"
    assert (invoice.amount_excl_tax, invoice.tax, invoice.total) == (D("273.00"), D("35.03"), D("308.03"))
    # PrepaidAmount 100.00, PayableAmount 208.03: the prepaid part is settled outside Relance.
    assert invoice.open_balance == D("208.03") and invoice.status == InvoiceStatus.PARTLY_PAID
    external = Allocation.objects.get(invoice=invoice)
    assert (external.source, external.amount) == (AllocationSource.EXTERNAL, D("100.00"))
    assert_balance_invariant(invoice)
    customer = invoice.customer
    assert customer.name == "Ma jolie boutique SARL"
    assert (customer.siren, customer.siret, customer.vat_number) == ("787878784", "78787878400018", "FR19787878784")
    assert (customer.address_line1, customer.address_line2) == ("35 rue de la République", "La presqu'île")
    assert (customer.postcode, customer.city, customer.country) == ("69001", "Lyon", "FR")
    assert customer.external_id == "787878784"
    assert list(Contact.objects.filter(customer=customer).values_list("kind", "value")) == [
        ("email", "laetita.durand@jolieboutique.com")]
    record = EInvoice.objects.get(invoice=invoice)
    assert (record.format, record.type_code, record.payment_terms) == ("ubl", "380", "30 jours net")
    assert record.iban == "FR2012421242124212421242124"
    assert not invoice.document  # an XML file is not a document to send


def test_a_facturx_pdf_becomes_the_invoice_and_its_document(moulin):
    path = sample("Facture_FR_BASICWL.pdf")
    report = import_einvoices(moulin, path)

    assert report.ok, report.errors
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.issue_date, invoice.due_date) == ("FA-2017-0010", date(2017, 11, 13),
                                                                    date(2017, 12, 13))
    assert (invoice.amount_excl_tax, invoice.tax, invoice.total) == (D("624.90"), D("46.25"), D("671.15"))
    assert invoice.open_balance == D("470.15")  # DuePayableAmount; 201.00 prepaid
    assert invoice.customer.name == "Ma jolie boutique" and invoice.customer.vat_number == "FR19787878784"
    with invoice.document.open("rb") as fh:
        assert fh.read() == path.read_bytes()
    assert EInvoice.objects.get(invoice=invoice).format == "facturx"
    # The buyer's SIRET 78787878400035 fails its check digit: said, not stored, not refused.
    assert any("78787878400035" in str(w) and "SIRET invalide" in str(w) for w in report.warnings)
    assert invoice.customer.siret == ""


def test_a_credit_note_pdf_is_applied_to_the_invoice_it_references(moulin):
    import_einvoices(moulin, sample("Facture_FR_BASICWL.pdf"))
    report = import_einvoices(moulin, sample("Avoir_FR_type381_BASIC.pdf"))

    assert report.ok, report.errors
    note = CreditNote.objects.get()
    assert (note.number, note.date, note.total, note.currency) == ("AV-2017-0005", date(2017, 11, 16), D("233.47"),
                                                                   "EUR")
    invoice = Invoice.objects.get()
    assert note.invoice == invoice and note.customer == invoice.customer
    assert Allocation.objects.get(credit_note=note).amount == D("233.47")
    invoice.refresh_from_db()
    assert invoice.open_balance == D("470.15") - D("233.47")
    assert_balance_invariant(invoice)
    assert report.outcomes[0].note == "imputé sur FA-2017-0010"


def test_reimporting_the_same_files_changes_nothing(moulin, tmp_path):
    for name in ("Facture_FR_BASICWL.pdf", "Avoir_FR_type381_BASIC.pdf"):
        shutil.copy(sample(name), tmp_path / name)
    first = import_einvoices(moulin, tmp_path)
    second = import_einvoices(moulin, tmp_path)

    assert first.count("created") == 2 and second.count("unchanged") == 2 and second.count("created") == 0
    assert Invoice.objects.count() == CreditNote.objects.count() == Customer.objects.count() == 1
    assert Allocation.objects.count() == 2
    assert len(list((Path(Invoice.objects.get().document.path)).parent.iterdir())) >= 1
    assert Invoice.objects.get().open_balance == D("236.68")


def test_a_changed_file_updates_its_invoice(moulin, tmp_path):
    text = sample("ubl-21-en16931.xml").read_text(encoding="utf-8")
    (tmp_path / "f.xml").write_text(text, encoding="utf-8")
    import_einvoices(moulin, tmp_path / "f.xml")
    (tmp_path / "f.xml").write_text(text.replace("<cbc:DueDate>2026-07-16</cbc:DueDate>",
                                                 "<cbc:DueDate>2026-08-16</cbc:DueDate>"), encoding="utf-8")
    report = import_einvoices(moulin, tmp_path / "f.xml")

    assert report.count("updated") == 1
    assert Invoice.objects.get().due_date == date(2026, 8, 16)


def test_a_cii_invoice_in_a_foreign_currency_with_a_prepayment(anyone):
    report = import_einvoices(anyone, sample("zugferd_2p3_EXTENDED_Fremdwaehrung.xml"))

    assert report.ok, report.errors
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.currency) == ("47110815", "GBP")
    assert (invoice.issue_date, invoice.due_date) == (date(2024, 11, 15), date(2024, 12, 1))
    # TaxTotalAmount is given in GBP (163.16) and in EUR (183.14): the invoice's currency counts.
    assert (invoice.amount_excl_tax, invoice.tax, invoice.total) == (D("858.75"), D("163.16"), D("1021.91"))
    assert invoice.open_balance == D("521.91")
    assert invoice.customer.external_id == "75969813"
    assert invoice.customer.name == "Metallbau Leipzig GmbH & Co. KG"
    record = EInvoice.objects.get()
    assert record.iban == "DE77370700600321987000" and record.payment_terms == "Zahlbar ohne Abschlag bis"


def test_a_zugferd_1_pdf_without_due_date_is_due_after_the_legal_30_days(anyone):
    report = import_einvoices(anyone, sample("ZUGFeRD_1p0_BASIC_Einfach.pdf"))

    assert report.ok, report.errors
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.issue_date, invoice.due_date) == ("471102", date(2013, 3, 5), date(2013, 4, 4))
    assert (invoice.amount_excl_tax, invoice.tax, invoice.total) == (D("198.00"), D("37.62"), D("235.62"))
    assert invoice.customer.name == "Kunden AG Mitte" and invoice.customer.city == "Frankfurt"
    assert EInvoice.objects.get().iban == "DE08700901001234567890"


def test_a_corrective_invoice_with_a_negative_total_is_a_credit_note(anyone):
    report = import_einvoices(anyone, sample("zugferd_2p3_BASIC_Rechnungskorrektur.xml"))

    assert report.ok, report.errors
    note = CreditNote.objects.get()
    assert (note.number, note.total, note.date, note.invoice) == ("RK21012345", D("8.79"), date(2024, 11, 15), None)
    assert not Invoice.objects.exists()
    assert report.outcomes[0].note == "8.79 EUR au crédit du client"


def test_a_ubl_credit_note_for_an_unknown_invoice_stays_customer_credit(anyone):
    report = import_einvoices(anyone, sample("ubl-tc434-creditnote1.xml"))

    assert report.ok, report.errors
    note = CreditNote.objects.get()
    assert (note.number, note.total, note.date) == ("018304 / 28865", D("100.11"), date(2019, 9, 23))
    assert note.customer.name == "My Customer Company" and note.customer.vat_number == "BE0000000295"
    assert not Allocation.objects.exists()
    assert Contact.objects.get().value == "pete.smith@mycustomercompany.be"


def test_a_ubl_invoice_in_norwegian_crowns(anyone):
    report = import_einvoices(anyone, sample("ubl-tc434-example2.xml"))

    assert report.ok, report.errors
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.currency, invoice.issue_date, invoice.due_date) == (
        "TOSL108", "NOK", date(2013, 6, 30), date(2013, 7, 20))
    assert (invoice.amount_excl_tax, invoice.tax, invoice.total, invoice.open_balance) == (
        D("1436.50"), D("365.28"), D("1801.78"), D("801.78"))
    assert invoice.customer.vat_number == "NO987654321MVA"
    assert invoice.customer.external_id == "3456789012098"


def test_the_buyer_is_matched_to_an_existing_customer_by_siren(moulin):
    known = Customer.objects.create(organisation=moulin, external_id="C-JOLIE", name="Jolie", siren="787878784")
    import_einvoices(moulin, sample("ubl-21-en16931.xml"))

    assert Customer.objects.get() == known
    known.refresh_from_db()
    assert known.name == "Ma jolie boutique SARL" and known.city == "Lyon"


def test_an_invoice_from_another_seller_is_refused(org):
    # The fixture's organisation has SIREN 732829320; the sample's seller is 999999998.
    report = import_einvoices(org, sample("ubl-21-en16931.xml"))

    assert not report.ok
    assert "999999998" in str(report.errors[0]) and "facture fournisseur" in str(report.errors[0])
    assert nothing_written()


def test_a_directory_is_all_or_nothing(anyone, tmp_path):
    shutil.copy(sample("zugferd_2p3_EXTENDED_Fremdwaehrung.xml"), tmp_path / "a.xml")
    data = sample("zugferd_2p3_XRECHNUNG_Einfach.xml").read_bytes()
    (tmp_path / "b.xml").write_bytes(data[: len(data) // 2])
    report = import_einvoices(anyone, tmp_path)

    assert not report.ok and len(report.errors) == 1
    error = report.errors[0]
    assert error.filename == "b.xml" and error.line > 0 and "XML invalide ou tronqué" in error.message
    assert nothing_written()


def test_an_entity_bomb_is_refused_before_anything_expands(anyone, tmp_path):
    levels = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10))
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE Invoice [\n<!ENTITY lol0 "lol">\n' + levels + "]>\n"
            '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol9;</Invoice>').encode()
    (tmp_path / "bomb.xml").write_bytes(bomb)
    report = import_einvoices(anyone, tmp_path / "bomb.xml")

    assert not report.ok
    assert str(report.errors[0]).startswith("bomb.xml:2: <!DOCTYPE>: DTD ou entités interdites")
    assert nothing_written()


def test_a_wrong_root_or_namespace_is_named(anyone, tmp_path):
    text = sample("ubl-tc434-example2.xml").read_text(encoding="utf-8")
    (tmp_path / "x.xml").write_text(text.replace("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
                                                 "urn:example:Invoice-9", 1), encoding="utf-8")
    report = import_einvoices(anyone, tmp_path / "x.xml", "ubl")

    assert not report.ok
    message = str(report.errors[0])
    assert "{urn:example:Invoice-9}Invoice" in message and "inattendu" in message


def test_a_bad_amount_names_its_line_and_element(anyone, tmp_path):
    text = sample("zugferd_2p3_EXTENDED_Fremdwaehrung.xml").read_text(encoding="utf-8")
    (tmp_path / "x.xml").write_text(text.replace("<ram:GrandTotalAmount>1021.91<", "<ram:GrandTotalAmount>1O21.91<"),
                                    encoding="utf-8")
    report = import_einvoices(anyone, tmp_path / "x.xml")

    assert str(report.errors[0]) == (
        "x.xml:339: /rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
        "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount: total TTC : montant invalide "
        "'1O21.91'")
    assert nothing_written()


def test_a_pdf_without_embedded_invoice_is_refused(anyone, tmp_path):
    (tmp_path / "plain.pdf").write_bytes(HTML(string="<p>Facture F1</p>").write_pdf())
    report = import_einvoices(anyone, tmp_path / "plain.pdf")

    assert "PDF sans facture Factur-X" in str(report.errors[0])
    assert nothing_written()


def test_a_kind_that_contradicts_the_content_is_refused(anyone):
    report = import_einvoices(anyone, sample("ubl-21-en16931.xml"), "cii")
    assert "fichier UBL, pas CII" in str(report.errors[0])


def test_the_kind_is_detected_from_the_content():
    def kind(name: str):
        path = sample(name)
        return detect(path, path.read_bytes()[:8192])

    assert kind("Facture_FR_BASICWL.pdf") == "facturx"
    assert kind("factur-x-basic.xml") == "cii"
    assert kind("ubl-tc434-creditnote1.xml") == "ubl"
    assert kind("README.md") is None


@pytest.mark.django_db(transaction=True)
def test_the_command_detects_the_kind_and_says_what_it_did(anyone, capsys):
    def relance(*args: str) -> int:
        try:
            return main(["relance", "import", *args])
        except SystemExit as exc:
            return exc.code

    assert relance(str(sample("factur-x-basic.xml")), "--org", "abc") == 0
    out = capsys.readouterr().out
    assert "factur-x-basic.xml: facture F20260023 créée" in out and "1 créés" in out
    assert relance("ubl", str(sample("ubl-tc434-creditnote1.xml")), "--org", "abc") == 0
    assert "avoir 018304 / 28865 créé" in capsys.readouterr().out
    assert relance(str(sample("README.md")), "--org", "abc") == 2
    assert "type de fichier non reconnu" in capsys.readouterr().err
    assert relance("cii", str(sample("ubl-21-en16931.xml")), "--org", "abc") == 1
    assert "rien n'a été écrit" in capsys.readouterr().err


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_document_or_a_clear_error(data):
    try:
        read_document(data, "x.xml")
    except EInvoiceError as exc:
        assert str(exc).startswith("x.xml")


_UBL = (SAMPLES / "ubl-tc434-creditnote1.xml").read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_UBL)), st.integers(0, len(_UBL)), st.binary(max_size=20))
def test_a_damaged_sample_gives_a_document_or_a_clear_error(start, end, patch):
    start, end = min(start, end), max(start, end)
    try:
        doc = read_document(_UBL[:start] + patch + _UBL[end:], "n.xml")
    except EInvoiceError as exc:
        assert str(exc).startswith("n.xml") and exc.message
    else:
        assert doc.total >= 0 and doc.amount_due <= doc.total


_PDF = (SAMPLES / "Facture_FR_BASICWL.pdf").read_bytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.integers(8, len(_PDF)), st.binary(max_size=64))
def test_a_damaged_pdf_gives_a_document_or_a_clear_error(tmp_path, cut, patch):
    path = tmp_path / "f.pdf"
    path.write_bytes(_PDF[:cut] + patch)
    try:
        doc, _, fmt = read_file(path, None)
    except EInvoiceError as exc:
        assert str(exc).startswith("f.pdf") and exc.message
    else:
        assert fmt == "facturx" and doc.number == "FA-2017-0010"


def test_a_dry_run_reports_and_writes_nothing(moulin, tmp_path):
    shutil.copy(sample("Facture_FR_BASICWL.pdf"), tmp_path / "f.pdf")
    report = import_einvoices(moulin, tmp_path, dry_run=True)

    assert report.ok and report.count("created") == 1
    assert nothing_written()


def test_an_unknown_currency_is_named(anyone, tmp_path):
    text = sample("ubl-tc434-example2.xml").read_text(encoding="utf-8")
    (tmp_path / "x.xml").write_text(text.replace("<cbc:DocumentCurrencyCode>NOK<", "<cbc:DocumentCurrencyCode>N'K<"),
                                    encoding="utf-8")
    report = import_einvoices(anyone, tmp_path / "x.xml")

    assert "/Invoice/cbc:DocumentCurrencyCode: devise : devise inconnue" in str(report.errors[0])
    assert nothing_written()
