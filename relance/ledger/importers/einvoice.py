"""Import of e-invoices: Factur-X / ZUGFeRD PDFs, CII and UBL 2.1 XML, invoices and credit notes.

Every file is read and checked first (`einvoice_xml`, pure); any problem refuses the whole set
(one file or a directory) and nothing is written. Then one transaction: the buyers become or
update customers, invoices are upserted by number (the prepaid part as an "external" settlement,
`balances.set_external_paid`), credit notes are applied to the invoice they reference
(`ledger.credit_notes`), and a Factur-X PDF becomes the invoice's document.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import facturx
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import pgettext

from relance.accounts.models import Organisation
from relance.audit import log as audit_log
from relance.ledger import balances
from relance.ledger.credit_notes import apply_credit_note, customer_credit, withdraw_credit_note
from relance.ledger.importers.einvoice_xml import EDocument, EInvoiceError, kind_of_xml, read_document
from relance.ledger.models import (
    Allocation,
    AllocationSource,
    Contact,
    ContactKind,
    CreditNote,
    Customer,
    EInvoice,
    ImportBatch,
    Invoice,
)
from relance.ledger.signals import ledger_changed
from relance.lib.money import ZERO

FORMATS = ("facturx", "cii", "ubl")
SUFFIXES = {".pdf", ".xml"}
# Code de commerce L441-10 I: without an agreed term, payment is due on the 30th day after delivery.
DEFAULT_PAYMENT_DAYS = 30


@dataclass
class Outcome:
    """What happened to one file's document."""

    filename: str
    number: str
    what: str  # "invoice" or "credit_note"
    action: str = ""  # created, updated, unchanged
    note: str = ""


@dataclass
class EInvoiceReport:
    path: str
    dry_run: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[EInvoiceError] = field(default_factory=list)
    warnings: list[EInvoiceError] = field(default_factory=list)
    batch_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    def as_dict(self) -> dict:
        return {
            "created": self.count("created"), "updated": self.count("updated"), "unchanged": self.count("unchanged"),
            "documents": [o.__dict__ for o in self.outcomes],
            "errors": [{"file": e.filename, "line": e.line, "place": e.place, "message": e.message}
                       for e in self.errors],
            "warnings": [str(w) for w in self.warnings],
        }


def detect(path: Path, head: bytes) -> str | None:
    """'facturx', 'cii' or 'ubl' from a file's first bytes (None: not one of ours). For `relance import FILE`."""
    if head.startswith(b"%PDF"):
        return "facturx"
    if path.is_dir():
        return None
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        with open(path, "rb") as fh:
            return kind_of_xml(fh.read(settings.RELANCE_IMPORT_MAX_BYTES))
    return None


def list_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    return [path]


def read_file(path: Path, kind: str | None) -> tuple[EDocument, bytes, str]:
    """The file's document, its bytes and its format; EInvoiceError when it cannot be one."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > settings.RELANCE_IMPORT_MAX_BYTES:
            raise EInvoiceError(name, pgettext("import", "file too big (%(size)s bytes, at most %(limit)s)")
                                % {"size": size, "limit": settings.RELANCE_IMPORT_MAX_BYTES})
        data = path.read_bytes()
    except OSError as exc:
        raise EInvoiceError(name, pgettext("import", "unreadable (%(reason)s)") % {"reason": exc.strerror or exc})
    fmt = "facturx" if data.startswith(b"%PDF") else None
    if fmt is None and data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        fmt = kind_of_xml(data) or "xml"
    if kind == "facturx" and fmt != "facturx":
        raise EInvoiceError(name, pgettext("import", "not a Factur-X / ZUGFeRD PDF"))
    if kind in ("cii", "ubl") and fmt == "facturx":
        raise EInvoiceError(name, pgettext("import", "a PDF is not a %(kind)s file (import facturx)")
                            % {"kind": kind.upper()})
    if fmt == "facturx":
        xml = embedded_xml(data, name)
    elif fmt is None:
        raise EInvoiceError(name, pgettext("import", "neither a Factur-X PDF nor a CII/UBL XML"))
    else:
        xml = data
    doc = read_document(xml, name)
    if kind in ("cii", "ubl") and doc.syntax != kind:
        raise EInvoiceError(name, pgettext("import", "%(syntax)s file, not %(kind)s")
                            % {"syntax": doc.syntax.upper(), "kind": kind.upper()}, 1, "/")
    return doc, data, fmt if fmt == "facturx" else doc.syntax


def embedded_xml(data: bytes, name: str) -> bytes:
    """The CII XML a Factur-X / ZUGFeRD PDF carries; EInvoiceError when there is none or the PDF is broken."""
    # factur-x logs its own findings at INFO/ERROR level; the error we raise says it once.
    logger = logging.getLogger("factur-x")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        _, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
    except Exception as exc:  # pypdf raises many kinds on a damaged PDF
        raise EInvoiceError(name, pgettext("import", "unreadable PDF (%(error)s)")
                            % {"error": f"{type(exc).__name__}: {str(exc)[:120]}"})
    finally:
        logger.setLevel(level)
    if not xml:
        raise EInvoiceError(name, pgettext("import", "PDF without an embedded Factur-X / ZUGFeRD invoice "
                                           "(factur-x.xml)"))
    return xml


def import_einvoices(org: Organisation, path: str | Path, kind: str | None = None, *, dry_run: bool = False,
                     user=None) -> EInvoiceReport:
    """Import one e-invoice file, or every .pdf/.xml file of a directory, all or nothing."""
    path = Path(path)
    report = EInvoiceReport(path=str(path), dry_run=dry_run)
    files = list_files(path)
    if not files:
        report.errors.append(EInvoiceError(path.name, pgettext("import", "no .pdf or .xml file")))
        return report
    read: list[tuple[EDocument, bytes, str]] = []
    seen: dict[tuple[bool, str], str] = {}
    for file in files:
        try:
            doc, data, fmt = read_file(file, kind)
            _check_seller(org, doc)
        except EInvoiceError as exc:
            report.errors.append(exc)
            continue
        key = (doc.is_credit_note, doc.number)
        if key in seen:
            report.errors.append(EInvoiceError(file.name, pgettext("import", "number %(number)s already in %(file)s")
                                               % {"number": doc.number, "file": seen[key]}))
            continue
        seen[key] = file.name
        report.warnings.extend(doc.warnings)
        read.append((doc, data, fmt))
    if report.errors:
        return report
    saved: list[str] = []
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(organisation=org, kind="einvoices", filename=path.name[:500],
                                               sha256=_sha256(b"".join(hashlib.sha256(d).digest() for _, d, _ in read)))
            writer = _Writer(org, batch, report, saved, user)
            # Invoices first: a credit note of the same set may reference one of them.
            for doc, data, fmt in sorted(read, key=lambda r: r[0].is_credit_note):
                writer.write(doc, data, fmt)
            if report.errors or dry_run:
                transaction.set_rollback(True)
            else:
                batch.created, batch.updated, batch.unchanged = (report.count(a) for a in
                                                                 ("created", "updated", "unchanged"))
                batch.finished_at = timezone.now()
                batch.save()
                audit_log.record("import.batch", batch)
                report.batch_id = batch.pk
    except BaseException:
        remove_stored(saved)
        raise
    if report.errors or dry_run:
        remove_stored(saved)
        return report
    ledger_changed.send(sender=import_einvoices, organisation=org, invoice_ids=sorted(writer.touched),
                        insolvent_customer_ids=[])
    return report


def _check_seller(org: Organisation, doc: EDocument) -> None:
    """A receivable is an invoice the organisation issued: a seller that is someone else is refused."""
    seller = doc.seller
    if org.siren and seller.siren and seller.siren != org.siren:
        raise EInvoiceError(doc.filename, pgettext(
            "import", "issued by %(seller)s (SIREN %(seller_id)s), not by %(org)s (SIREN %(org_id)s): a supplier "
            "invoice?") % {"seller": seller.name, "seller_id": seller.siren, "org": org.legal_name,
                           "org_id": org.siren})
    if org.vat_number and seller.vat and seller.vat != org.vat_number.replace(" ", "").upper():
        raise EInvoiceError(doc.filename, pgettext(
            "import", "issued by %(seller)s (VAT %(seller_id)s), not by %(org)s (VAT %(org_id)s): a supplier "
            "invoice?") % {"seller": seller.name, "seller_id": seller.vat, "org": org.legal_name,
                           "org_id": org.vat_number})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def remove_stored(names: list[str]) -> None:
    """Stored documents of a rolled-back import: their rows are gone, so are they."""
    for name in names:
        default_storage.delete(name)


class _Writer:
    def __init__(self, org: Organisation, batch: ImportBatch, report: EInvoiceReport, saved: list[str], user):
        self.org, self.batch, self.report, self.saved, self.user = org, batch, report, saved, user
        self.touched: set[int] = set()

    def write(self, doc: EDocument, data: bytes, fmt: str) -> None:
        customer, customer_changed = self.customer(doc)
        outcome = Outcome(doc.filename, doc.number, "credit_note" if doc.is_credit_note else "invoice")
        try:
            if doc.is_credit_note:
                changed = self.credit_note(doc, customer, outcome, data, fmt)
            else:
                changed = self.invoice(doc, customer, outcome, data, fmt)
        except (EInvoiceError, balances.AllocationError) as exc:
            error = exc if isinstance(exc, EInvoiceError) else EInvoiceError(doc.filename, str(exc))
            self.report.errors.append(error)
            return
        if outcome.action == "unchanged" and (changed or customer_changed):
            outcome.action = "updated"
        self.report.outcomes.append(outcome)

    def customer(self, doc: EDocument) -> tuple[Customer, bool]:
        """The buyer's customer: matched by SIREN, VAT number or buyer id; created, or completed, from the file."""
        buyer, customers = doc.buyer, Customer.objects.filter(organisation=self.org)
        found = None
        for name, value in (("siren", buyer.siren), ("vat_number", buyer.vat), ("external_id", buyer.identifier)):
            if value and found is None:
                found = customers.filter(**{name: value}).order_by("pk").first()
        key = (buyer.identifier or buyer.siren or buyer.vat or buyer.name)[:64]
        if found is None:
            found = customers.filter(external_id=key).first()
        wanted = {"name": buyer.name[:200], "siren": buyer.siren, "siret": buyer.siret, "vat_number": buyer.vat,
                  "address_line1": buyer.address_line1, "address_line2": buyer.address_line2,
                  "postcode": buyer.postcode, "city": buyer.city, "country": buyer.country}
        wanted = {k: v for k, v in wanted.items() if v}
        changed = False
        if found is None:
            found = Customer.objects.create(organisation=self.org, external_id=key, language=self.org.language,
                                            **{"country": self.org.country, **wanted})
            changed = True
        else:
            fields = [k for k, v in wanted.items() if getattr(found, k) != v]
            for k in fields:
                setattr(found, k, wanted[k])
            if fields:
                found.save(update_fields=[*fields, "updated_at"])
                changed = True
        if buyer.email:
            _, created = Contact.objects.get_or_create(customer=found, kind=ContactKind.EMAIL, value=buyer.email)
            changed = changed or created
        return found, changed

    def invoice(self, doc: EDocument, customer: Customer, outcome: Outcome, data: bytes, fmt: str) -> bool:
        due = doc.due_date or doc.issue_date + timedelta(days=DEFAULT_PAYMENT_DAYS)
        values = {"customer_id": customer.pk, "issue_date": doc.issue_date, "due_date": due,
                  "currency": doc.currency, "amount_excl_tax": doc.amount_excl_tax, "tax": doc.tax, "total": doc.total}
        invoice = Invoice.objects.filter(organisation=self.org, number=doc.number).first()
        if invoice is None:
            invoice = Invoice.objects.create(organisation=self.org, number=doc.number, open_balance=doc.total,
                                             source_import=self.batch, **values)
            balances.set_external_paid(invoice, doc.prepaid)
            outcome.action = "created"
            changed = True
        else:
            changed = self._update_invoice(invoice, values, doc)
            outcome.action = "updated" if changed else "unchanged"
        if doc.prepaid > 0:
            outcome.note = pgettext("import", "already paid %(amount)s %(currency)s") % {"amount": doc.prepaid,
                                                                                         "currency": doc.currency}
        if fmt == "facturx":
            changed = self._attach(invoice, data, doc.filename) or changed
        changed = self._record(doc, fmt, data, invoice=invoice) or changed
        self.touched.add(invoice.pk)
        return changed

    def _update_invoice(self, invoice: Invoice, values: dict, doc: EDocument) -> bool:
        external = Allocation.objects.filter(invoice=invoice, source=AllocationSource.EXTERNAL)
        ext = sum((a.amount for a in external), ZERO)
        fields = [k for k, v in values.items() if getattr(invoice, k) != v]
        if not fields and ext == doc.prepaid:
            return False
        other = invoice.total - invoice.open_balance - ext  # payments and credit notes
        if other + doc.prepaid > doc.total:
            raise EInvoiceError(doc.filename, pgettext(
                "import", "invoice %(number)s: the allocated payments and credit notes (%(other)s) plus the amount "
                "already paid (%(paid)s) exceed the total (%(total)s)")
                % {"number": doc.number, "other": other, "paid": doc.prepaid, "total": doc.total})
        for k in fields:
            setattr(invoice, k, values[k])
        if fields:
            invoice.save(update_fields=[*fields, "updated_at"])
        balances.set_external_paid(invoice, doc.prepaid)
        return True

    def _attach(self, invoice: Invoice, data: bytes, filename: str) -> bool:
        """Keep the PDF as the invoice's document, unless the very same file is already there."""
        if invoice.document and stored_sha256(invoice) == _sha256(data):
            return False
        invoice.document.save(Path(filename).name, ContentFile(data), save=False)
        self.saved.append(invoice.document.name)
        invoice.save(update_fields=["document", "updated_at"])
        return True

    def _record(self, doc: EDocument, fmt: str, data: bytes, **target) -> bool:
        values = {"organisation": self.org, "format": fmt, "profile": doc.profile[:200], "type_code": doc.type_code,
                  "filename": doc.filename[:500], "sha256": _sha256(data), "payment_terms": doc.payment_terms,
                  "iban": doc.iban}
        record = EInvoice.objects.filter(**target).first()
        if record is None:
            EInvoice.objects.create(source_import=self.batch, **target, **values)
            return True
        fields = [k for k, v in values.items() if getattr(record, k) != v]
        for k in fields:
            setattr(record, k, values[k])
        if fields:
            record.source_import = self.batch
            record.save()
        return bool(fields)

    def credit_note(self, doc: EDocument, customer: Customer, outcome: Outcome, data: bytes, fmt: str) -> bool:
        invoice = self._referenced(doc, customer)
        note = CreditNote.objects.filter(organisation=self.org, number=doc.number).first()
        values = {"customer_id": customer.pk, "date": doc.issue_date, "currency": doc.currency, "total": doc.total,
                  "invoice_id": invoice.pk if invoice else None}
        if note is None:
            note = CreditNote.objects.create(organisation=self.org, number=doc.number, source_import=self.batch,
                                             **values)
            outcome.action = "created"
        else:
            fields = [k for k, v in values.items() if getattr(note, k) != v]
            outcome.action = "updated" if fields else "unchanged"
            if fields:
                withdraw_credit_note(note, user=self.user)
                for k in fields:
                    setattr(note, k, values[k])
                note.save(update_fields=fields)
        applied = apply_credit_note(note, user=self.user)
        if invoice is not None:
            self.touched.add(invoice.pk)
        left = customer_credit(note)
        credit = pgettext("import", "%(amount)s %(currency)s to the customer's credit") % {"amount": left,
                                                                                            "currency": doc.currency}
        if invoice is not None:
            outcome.note = pgettext("import", "applied to %(number)s") % {"number": invoice.number} + (
                f", {credit}" if left else "")
        elif refs := ", ".join(doc.referenced_invoices):
            outcome.note = pgettext("import", "invoice %(refs)s unknown: %(credit)s") % {"refs": refs, "credit": credit}
        else:
            outcome.note = credit
        return self._record(doc, fmt, data, credit_note=note) or applied > 0

    def _referenced(self, doc: EDocument, customer: Customer) -> Invoice | None:
        for number in doc.referenced_invoices:
            invoice = Invoice.objects.filter(organisation=self.org, number=number).first()
            if invoice is None:
                continue
            if invoice.customer_id != customer.pk:
                raise EInvoiceError(doc.filename, pgettext(
                    "import", "the credit note %(number)s refers to the invoice %(invoice)s of another customer")
                    % {"number": doc.number, "invoice": number})
            if invoice.currency != doc.currency:
                raise EInvoiceError(doc.filename, pgettext(
                    "import", "the credit note %(number)s is in %(currency)s, the invoice %(invoice)s in "
                    "%(invoice_currency)s") % {"number": doc.number, "currency": doc.currency, "invoice": number,
                                               "invoice_currency": invoice.currency})
            return invoice
        return None


def stored_sha256(invoice: Invoice) -> str:
    """The sha256 of the invoice's stored document ('' when it cannot be read)."""
    digest = hashlib.sha256()
    try:
        with invoice.document.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()
