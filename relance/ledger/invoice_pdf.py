"""Plain invoice PDFs (WeasyPrint through lib/pdf) for invoices that have no document: the demo's."""

from __future__ import annotations

from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency
from django.template.loader import render_to_string

from relance.ledger.models import Invoice
from relance.lib.pdf import PdfError, html_to_page_pdfs

LOCALE = "fr_FR"


def _figures(invoice: Invoice) -> dict:
    def money(value) -> str:
        return format_currency(value, invoice.currency, locale=LOCALE)

    return {"invoice": invoice, "issue": format_date(invoice.issue_date, "dd/MM/yyyy", locale=LOCALE),
            "due": format_date(invoice.due_date, "dd/MM/yyyy", locale=LOCALE), "excl": money(invoice.amount_excl_tax),
            "tax": money(invoice.tax), "total": money(invoice.total)}


def render_invoice_pdfs(invoices: list[Invoice]) -> list[bytes]:
    """One one-page PDF per invoice (seller, buyer, number, dates, amounts, bank details), of one organisation."""
    if not invoices:
        return []
    html = render_to_string("ledger/invoice_pdf.html", {
        "org": invoices[0].organisation, "invoices": [_figures(i) for i in invoices]})
    pages = html_to_page_pdfs(html)
    if len(pages) != len(invoices):
        raise PdfError(f"{len(pages)} pages for {len(invoices)} invoices: an invoice overflows its page")
    return pages


def write_invoice_pdfs(invoices: list[Invoice], folder: Path) -> list[Path]:
    """One `<number>.pdf` per invoice in `folder` (for `relance import documents`)."""
    paths = []
    for invoice, data in zip(invoices, render_invoice_pdfs(invoices), strict=True):
        path = folder / f"{invoice.number}.pdf"
        path.write_bytes(data)
        paths.append(path)
    return paths
