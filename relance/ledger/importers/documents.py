"""Attach invoice PDFs: each file to the invoice whose number its name holds, or its embedded Factur-X data.

A name that names no known invoice, or several, is reported, never guessed; any such file refuses
the whole directory (nothing attached). The same file attached twice changes nothing (sha256).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import pgettext

from relance.accounts.models import Organisation
from relance.ledger.importers.einvoice import embedded_xml, remove_stored, stored_sha256
from relance.ledger.importers.einvoice_xml import EInvoiceError, read_document
from relance.ledger.models import Invoice

_SEPARATORS = re.compile(r"[\s_]+")


@dataclass
class Attached:
    filename: str
    number: str
    action: str  # created (first document), updated (replaced), unchanged


@dataclass
class DocumentsReport:
    path: str
    dry_run: bool = False
    attached: list[Attached] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file name, message)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for a in self.attached if a.action == action)

    def as_dict(self) -> dict:
        return {"created": self.count("created"), "updated": self.count("updated"),
                "unchanged": self.count("unchanged"), "documents": [a.__dict__ for a in self.attached],
                "errors": [{"file": f, "message": m} for f, m in self.errors]}


def candidate_numbers(filename: str) -> set[str]:
    """Words of a file name that may be an invoice number: 'Facture FA-2026-0012.pdf' -> {'Facture FA-2026-0012',
    'Facture', 'FA-2026-0012'}."""
    stem = Path(filename).stem.strip()
    words = {w for w in _SEPARATORS.split(stem) if w}
    return {stem, *words}


def embedded_number(data: bytes, name: str) -> str | None:
    """The number in a Factur-X PDF's embedded XML, None for a plain PDF."""
    try:
        return read_document(embedded_xml(data, name), name).number
    except EInvoiceError:
        return None


def match_invoice(org: Organisation, filename: str, data: bytes) -> tuple[Invoice | None, str]:
    """The one invoice a PDF belongs to, or (None, why not)."""
    words = candidate_numbers(filename)
    found = list(Invoice.objects.filter(organisation=org, number__in=words).order_by("number"))
    if len(found) > 1:
        return None, pgettext("import", "ambiguous name: %(numbers)s (rename the file)") % {
            "numbers": ", ".join(i.number for i in found)}
    if found:
        return found[0], ""
    number = embedded_number(data, filename)
    if number:
        invoice = Invoice.objects.filter(organisation=org, number=number).first()
        if invoice is not None:
            return invoice, ""
        return None, pgettext("import", "invoice %(number)s (Factur-X data) unknown") % {"number": number}
    return None, pgettext("import", "no known invoice number in the file name")


def attach_documents(org: Organisation, path: str | Path, *, dry_run: bool = False) -> DocumentsReport:
    """Attach every PDF of a directory (or one PDF) to its invoice, all or nothing."""
    path = Path(path)
    report = DocumentsReport(path=str(path), dry_run=dry_run)
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    plan: list[tuple[Invoice, Path, bytes]] = []
    claimed: dict[int, str] = {}
    for file in files:
        if file.suffix.lower() != ".pdf":
            continue
        try:
            if file.stat().st_size > settings.RELANCE_IMPORT_MAX_BYTES:
                report.errors.append((file.name, pgettext("import", "file too big")))
                continue
            data = file.read_bytes()
        except OSError as exc:
            report.errors.append((file.name, pgettext("import", "unreadable (%(reason)s)")
                                  % {"reason": exc.strerror or exc}))
            continue
        if not data.startswith(b"%PDF"):
            report.errors.append((file.name, pgettext("import", "not a PDF")))
            continue
        invoice, why = match_invoice(org, file.name, data)
        if invoice is None:
            report.errors.append((file.name, why))
        elif invoice.pk in claimed:
            report.errors.append((file.name, pgettext("import", "invoice %(number)s already taken by %(file)s")
                                  % {"number": invoice.number, "file": claimed[invoice.pk]}))
        else:
            claimed[invoice.pk] = file.name
            plan.append((invoice, file, data))
    if not plan and not report.errors:
        report.errors.append((path.name, pgettext("import", "no PDF file")))
    if report.errors:
        return report
    saved: list[str] = []
    try:
        with transaction.atomic():
            for invoice, file, data in plan:
                report.attached.append(Attached(file.name, invoice.number, _attach(invoice, file.name, data, saved)))
            if dry_run:
                transaction.set_rollback(True)
    except BaseException:
        remove_stored(saved)
        raise
    if dry_run:
        remove_stored(saved)
    return report


def _attach(invoice: Invoice, name: str, data: bytes, saved: list[str]) -> str:
    had = bool(invoice.document)
    if had and stored_sha256(invoice) == hashlib.sha256(data).hexdigest():
        return "unchanged"
    invoice.document.save(name, ContentFile(data), save=False)
    saved.append(invoice.document.name)
    invoice.save(update_fields=["document", "updated_at"])
    return "updated" if had else "created"
