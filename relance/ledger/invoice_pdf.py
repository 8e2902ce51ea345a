"""Plain invoice PDFs (WeasyPrint through lib/pdf) for invoices that have no document: the demo's.

Each page speaks its customer's language (gettext, Babel)."""

from __future__ import annotations

from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from relance.ledger.models import Invoice
from relance.lib.pdf import PdfError, html_to_page_pdfs

LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def _page(invoice: Invoice) -> str:
    language = invoice.customer.language if invoice.customer.language in LOCALES else "fr"
    locale = LOCALES[language]

    def money(value) -> str:
        return format_currency(value, invoice.currency, locale=locale)

    with translation.override(language):
        return render_to_string("ledger/invoice_pdf_page.html", {
            "org": invoice.organisation, "customer": invoice.customer, "invoice": invoice, "language": language,
            "issue": format_date(invoice.issue_date, "short", locale=locale),
            "due": format_date(invoice.due_date, "short", locale=locale),
            "excl": money(invoice.amount_excl_tax), "tax": money(invoice.tax), "total": money(invoice.total),
        })


def render_invoice_pdfs(invoices: list[Invoice]) -> list[bytes]:
    """One one-page PDF per invoice (seller, buyer, number, dates, amounts, bank details)."""
    if not invoices:
        return []
    # Rendered as one document, written page by page: one layout for all (lib/pdf.html_to_page_pdfs).
    html = render_to_string("ledger/invoice_pdf.html", {"sections": [mark_safe(_page(i)) for i in invoices]})
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
