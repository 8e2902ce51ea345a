"""`relance import documents DIR`: invoice PDFs attached by the number in their name (or their Factur-X data),
then carried by the e-mail reminders over a real SMTP server."""

from __future__ import annotations

import email
import hashlib
import io
import shutil
from datetime import UTC, datetime
from email.policy import default as default_policy
from pathlib import Path

import pytest
from pypdf import PdfReader
from weasyprint import HTML

from relance.channels.delivery import deliver_pending
from relance.cli import main
from relance.ledger.importers.documents import attach_documents, candidate_numbers
from relance.ledger.invoice_pdf import render_invoice_pdfs
from relance.ledger.models import Invoice
from tests.channels.email_support import make_reminder, smtpd  # noqa: F401

SAMPLES = Path(__file__).parent / "samples"
NOW = datetime(2026, 7, 10, 8, 0, tzinfo=UTC)


def pdf(text: str) -> bytes:
    return HTML(string=f"<h1>{text}</h1>").write_pdf()


def stored(invoice: Invoice) -> bytes:
    invoice.refresh_from_db()
    with invoice.document.open("rb") as fh:
        return fh.read()


@pytest.fixture
def numbered(make_invoice):
    return [make_invoice(number=n) for n in ("FA-2026-0012", "FA-2026-0013", "FA-2026-0014")]


def test_candidate_numbers_are_the_words_of_the_name():
    assert candidate_numbers("Facture FA-2026-0012.pdf") == {"Facture FA-2026-0012", "Facture", "FA-2026-0012"}
    assert candidate_numbers("facture_FA-2026-0013.PDF") == {"facture_FA-2026-0013", "facture", "FA-2026-0013"}


def test_each_pdf_goes_to_the_invoice_its_name_gives(org, numbered, tmp_path):
    files = {"FA-2026-0012.pdf": pdf("douze"), "Facture FA-2026-0013.pdf": pdf("treize"),
             "facture_FA-2026-0014.pdf": pdf("quatorze"), "notes.txt": b"not a pdf, not ours"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    report = attach_documents(org, tmp_path)

    assert report.ok, report.errors
    assert sorted((a.number, a.action) for a in report.attached) == [
        ("FA-2026-0012", "created"), ("FA-2026-0013", "created"), ("FA-2026-0014", "created")]
    assert stored(numbered[0]) == files["FA-2026-0012.pdf"]
    assert stored(numbered[1]) == files["Facture FA-2026-0013.pdf"]
    assert stored(numbered[2]) == files["facture_FA-2026-0014.pdf"]


def test_the_same_files_twice_change_nothing_and_a_new_version_replaces_the_old(org, numbered, tmp_path):
    (tmp_path / "FA-2026-0012.pdf").write_bytes(pdf("v1"))
    attach_documents(org, tmp_path)
    first_name = Invoice.objects.get(number="FA-2026-0012").document.name

    again = attach_documents(org, tmp_path)
    assert [a.action for a in again.attached] == ["unchanged"]
    assert Invoice.objects.get(number="FA-2026-0012").document.name == first_name

    (tmp_path / "FA-2026-0012.pdf").write_bytes(pdf("v2"))
    changed = attach_documents(org, tmp_path)
    assert [a.action for a in changed.attached] == ["updated"]
    assert hashlib.sha256(stored(numbered[0])).digest() == hashlib.sha256(pdf("v2")).digest()


def test_unknown_and_ambiguous_names_are_reported_and_nothing_is_attached(org, numbered, tmp_path):
    (tmp_path / "FA-2026-0012.pdf").write_bytes(pdf("ok"))
    (tmp_path / "FA-2026-0013 FA-2026-0014.pdf").write_bytes(pdf("two"))
    (tmp_path / "scan 42.pdf").write_bytes(pdf("?"))
    report = attach_documents(org, tmp_path)

    assert dict(report.errors) == {
        "FA-2026-0013 FA-2026-0014.pdf": "nom ambigu : FA-2026-0013, FA-2026-0014 (renommez le fichier)",
        "scan 42.pdf": "aucun numéro de facture connu dans le nom du fichier",
    }
    assert not any(Invoice.objects.get(pk=i.pk).document for i in numbered)


def test_a_facturx_pdf_is_matched_by_its_embedded_number(org, make_invoice, tmp_path):
    invoice = make_invoice(number="FA-2017-0010")
    shutil.copy(SAMPLES / "Facture_FR_BASICWL.pdf", tmp_path / "scan-0001.pdf")
    report = attach_documents(org, tmp_path)

    assert report.ok, report.errors
    assert stored(invoice) == (SAMPLES / "Facture_FR_BASICWL.pdf").read_bytes()


@pytest.mark.django_db(transaction=True)
def test_the_command_attaches_and_reports(org, numbered, tmp_path, capsys):
    (tmp_path / "FA-2026-0012.pdf").write_bytes(pdf("douze"))

    def relance(*args: str) -> int:
        try:
            return main(["relance", "import", *args])
        except SystemExit as exc:
            return exc.code

    assert relance("documents", str(tmp_path), "--org", "abc") == 0
    assert "FA-2026-0012.pdf: facture FA-2026-0012 : document créé" in capsys.readouterr().out
    (tmp_path / "inconnue.pdf").write_bytes(pdf("?"))
    assert relance("documents", str(tmp_path), "--org", "abc") == 1
    assert "inconnue.pdf: aucun numéro de facture connu" in capsys.readouterr().err


def test_an_email_reminder_carries_the_imported_pdf(org, smtpd, customer, make_invoice, tmp_path):  # noqa: F811
    org.email_url = smtpd.url
    org.save()
    invoice = make_invoice(total="1500.00", number="FA-2026-0012")
    data = pdf("Facture FA-2026-0012 importée")
    (tmp_path / "Facture FA-2026-0012.pdf").write_bytes(data)
    assert attach_documents(org, tmp_path).ok
    make_reminder(org, customer, [Invoice.objects.get(pk=invoice.pk)])

    stats = deliver_pending(now=NOW)

    assert stats.sent == 1 and len(smtpd.messages) == 1
    message = email.message_from_bytes(smtpd.messages[0].content, policy=default_policy)
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert attachments["Facture-FA-2026-0012.pdf"] == data
    text = PdfReader(io.BytesIO(attachments["Facture-FA-2026-0012.pdf"])).pages[0].extract_text()
    assert "Facture FA-2026-0012 importée" in text


def test_the_demo_invoice_pdfs_are_one_real_page_each(org, make_invoice):
    invoices = [make_invoice(total="1500.00", number="FA-2026-0012"),
                make_invoice(total="99.90", number="FA-2026-0013")]
    pdfs = render_invoice_pdfs(invoices)

    assert len(pdfs) == 2
    first, second = (PdfReader(io.BytesIO(data)) for data in pdfs)
    assert len(first.pages) == len(second.pages) == 1
    text = first.pages[0].extract_text().replace("\u202f", " ").replace("\xa0", " ")
    assert "Facture FA-2026-0012" in text and "Dupont SARL" in text and "ABC Consulting" in text
    assert "1 500,00" in text and "31/05/2026" in text and "30/06/2026" in text
    assert "FA-2026-0013" in second.pages[0].extract_text() and "99,90" in second.pages[0].extract_text()
    assert "Total TTC" in text and "Échéance : 30/06/2026" in text


def test_an_english_customer_gets_an_english_invoice(org, customer, make_invoice):
    customer.language = "en"
    customer.save()
    pdf_bytes, = render_invoice_pdfs([make_invoice(total="1500.00", number="FA-2026-0012")])

    text = PdfReader(io.BytesIO(pdf_bytes)).pages[0].extract_text()
    assert "Invoice FA-2026-0012" in text and "Total incl. tax" in text and "€1,500.00" in text
    assert "Due date: 30/06/2026" in text
