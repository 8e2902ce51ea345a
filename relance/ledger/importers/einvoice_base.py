"""The common ground of the e-invoice readers (einvoice_cii, einvoice_ubl): safe XML parsing, the plain
`EDocument` they return, and `Reader`, which reads values at XPath places and names the line and element
path of every problem. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import pgettext
from lxml import etree
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret

from relance.ledger.contacts import clean_email
from relance.ledger.importers.fields import parse_currency
from relance.ledger.importers.result import FieldError

# UNTDID 1001 codes of documents that give money back (credit notes); the others are invoices.
CREDIT_NOTE_CODES = {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
MAX_AMOUNT = Decimal("1000000000000")
_AMOUNT = re.compile(r"-?[0-9]{1,13}(\.[0-9]{1,6})?")
CENT = Decimal("0.01")

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False,
    remove_comments=True, remove_pis=True,
)


class EInvoiceError(ValueError):
    """A file that cannot be read as an e-invoice: where (line, element path) and why, in the active language."""

    def __init__(self, filename: str, message: str, line: int = 0, place: str = ""):
        super().__init__(message)
        self.filename, self.message, self.line, self.place = filename, message, line, place

    def __str__(self) -> str:
        where = f"{self.filename}:{self.line}" if self.line else self.filename
        return f"{where}: {self.place + ': ' if self.place else ''}{self.message}"


@dataclass
class Party:
    name: str = ""
    identifier: str = ""  # the buyer's id in the seller's books (BT-46)
    siren: str = ""
    siret: str = ""
    vat: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""
    email: str = ""


@dataclass
class EDocument:
    """One invoice or credit note as the file states it; amounts positive, credit notes apart."""

    filename: str
    syntax: str  # "cii" or "ubl"
    is_credit_note: bool
    type_code: str
    number: str
    issue_date: date
    due_date: date | None
    payment_terms: str
    currency: str
    amount_excl_tax: Decimal
    tax: Decimal
    total: Decimal
    amount_due: Decimal
    buyer: Party
    seller: Party
    iban: str = ""
    profile: str = ""
    referenced_invoices: list[str] = field(default_factory=list)
    # What was read but not kept (an identifier failing its checksum ...): said, not refused.
    warnings: list[EInvoiceError] = field(default_factory=list)

    @property
    def prepaid(self) -> Decimal:
        """What the buyer already paid (amount due below the total)."""
        return self.total - self.amount_due


def parse_xml(data: bytes, filename: str) -> etree._ElementTree:
    """The document tree, or EInvoiceError: malformed or truncated XML, a DTD (entity bombs live there)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"<!DOCTYPE" in data[:65536] or b"<!ENTITY" in data[:65536]:
        line = data[: data.find(b"<!")].count(b"\n") + 1
        raise EInvoiceError(filename, _no_dtd(), line, "<!DOCTYPE>")
    if not head.startswith(b"<"):
        raise EInvoiceError(filename, pgettext("import", "not an XML file"))
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        message = pgettext("import", "invalid or truncated XML (%(error)s)") % {"error": (exc.msg or str(exc)).strip()}
        column = pgettext("import", "column %(column)s") % {"column": exc.position[1]}
        raise EInvoiceError(filename, message, line, column)
    if root is None:
        raise EInvoiceError(filename, pgettext("import", "empty XML"))
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        # A DOCTYPE after a long prologue: not expanded (resolve_entities=False), refused all the same.
        raise EInvoiceError(filename, _no_dtd(), 1, "<!DOCTYPE>")
    return tree


def _no_dtd() -> str:
    return pgettext("import", "DTD or entities not allowed in an e-invoice")


def element_path(node) -> str:
    """'/Invoice/cac:TaxTotal[2]/cbc:TaxAmount': the element's place, with the file's own prefixes."""
    parts = []
    while node is not None:
        qname = etree.QName(node)
        name = f"{node.prefix}:{qname.localname}" if node.prefix else qname.localname
        parent = node.getparent()
        if parent is not None:
            same = [n for n in parent if n.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def root_namespace(tree: etree._ElementTree) -> tuple[str, str]:
    root = tree.getroot()
    qname = etree.QName(root)
    return qname.namespace or "", qname.localname


class Reader:
    """Reads values at XPath places; each problem names the element's line and path."""

    ns: dict[str, str]

    def __init__(self, tree: etree._ElementTree, filename: str):
        self.tree, self.filename = tree, filename
        self.warnings: list[EInvoiceError] = []

    def warn(self, node, message: str) -> None:
        self.warnings.append(self.error(node, pgettext("import", "%(message)s (ignored)") % {"message": message}))

    def error(self, node, message: str, place: str = "") -> EInvoiceError:
        if node is None:
            return EInvoiceError(self.filename, message, 0, place)
        return EInvoiceError(self.filename, message, node.sourceline or 0, place or element_path(node))

    def node(self, ctx, path: str):
        if ctx is None:
            return None
        found = ctx.xpath(path, namespaces=self.ns)
        return found[0] if found else None

    def text(self, ctx, path: str, max_length: int = 200) -> str:
        node = self.node(ctx, path)
        if node is None:
            return ""
        value = " ".join((node.text or "").split())
        if len(value) > max_length:
            raise self.error(node, pgettext("import", "too long (%(length)s characters, at most %(max)s)")
                             % {"length": len(value), "max": max_length})
        return value

    def required(self, ctx, path: str, label: str, max_length: int = 64) -> tuple[str, object]:
        node = self.node(ctx, path)
        value = self.text(ctx, path, max_length)
        if not value:
            where = node if node is not None else ctx
            place = element_path(ctx) + "/" + path if ctx is not None else path
            raise self.error(where, pgettext("import", "%(label)s missing") % {"label": label},
                             place if node is None else "")
        return value, node

    def currency(self, ctx, path: str) -> str:
        """An ISO 4217 code ('' when absent: the caller says it is missing)."""
        node = self.node(ctx, path)
        raw = " ".join((node.text or "").split()) if node is not None else ""
        if not raw:
            return ""
        try:
            return parse_currency(raw[:40])
        except FieldError as exc:
            raise self.error(node, pgettext("import", "currency: %(error)s") % {"error": exc})

    def amount(self, ctx, path: str, label: str, required: bool = True) -> Decimal | None:
        node = self.node(ctx, path)
        raw = (node.text or "").strip() if node is not None else ""
        if not raw:
            if required:
                place = (element_path(ctx) if ctx is not None else "") + "/" + path
                raise self.error(ctx, pgettext("import", "%(label)s missing") % {"label": label}, place)
            return None
        if not _AMOUNT.fullmatch(raw):
            raise self.error(node, pgettext("import", "%(label)s: invalid amount %(value)s")
                             % {"label": label, "value": repr(raw[:40])})
        try:
            value = Decimal(raw).quantize(CENT, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise self.error(node, pgettext("import", "%(label)s: invalid amount %(value)s")
                             % {"label": label, "value": repr(raw[:40])})
        if abs(value) >= MAX_AMOUNT:
            raise self.error(node, pgettext("import", "%(label)s: amount too large %(value)s")
                             % {"label": label, "value": raw[:40]})
        return value

    def iso_date(self, node, raw: str, label: str) -> date:
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            raise self.error(node, pgettext("import", "%(label)s: invalid date %(value)s")
                             % {"label": label, "value": repr(raw[:40])})
        if not 1900 <= value.year <= 2200:
            raise self.error(node, pgettext("import", "%(label)s: date out of range %(value)s")
                             % {"label": label, "value": raw})
        return value

    def party_ids(self, node, party: Party, scheme: str, value: str) -> None:
        """Sort a party identifier by its ISO 6523 scheme: 0002 is a SIREN, 0009 a SIRET."""
        compact = value.replace(" ", "")
        if scheme in ("0002", "0009") and len(compact) == 14:
            scheme = "0009"  # a SIRET given under the SIREN scheme: its first nine digits are the SIREN
        if scheme == "0002" or (scheme == "" and len(compact) == 9 and compact.isdigit()):
            try:
                party.siren = party.siren or fr_siren.validate(compact)
            except StdnumError as exc:
                if scheme == "0002":
                    self.warn(node, pgettext("import", "invalid SIREN (%(error)s): %(value)s")
                              % {"error": exc, "value": value})
        elif scheme == "0009":
            try:
                party.siret = party.siret or fr_siret.validate(compact)
            except StdnumError as exc:
                self.warn(node, pgettext("import", "invalid SIRET (%(error)s): %(value)s")
                          % {"error": exc, "value": value})
                return
            party.siren = party.siren or party.siret[:9]

    def vat(self, node, party: Party, value: str) -> None:
        try:
            party.vat = eu_vat.validate(value)
        except StdnumError:
            # Outside the EU (NO, CH ...) stdnum has no rule: kept as written, compacted.
            if value[:2].lower() in eu_vat.MEMBER_STATES or value[:2].upper() == "EL":
                self.warn(node, pgettext("import", "invalid VAT number: %(value)s") % {"value": value})
            else:
                party.vat = value.replace(" ", "").upper()[:20]

    def email(self, node, party: Party, value: str) -> None:
        if not value or party.email:
            return
        try:
            party.email = clean_email(value)
        except Exception as exc:  # django ValidationError: its messages are the reason
            reason = "; ".join(getattr(exc, "messages", [str(exc)]))
            self.warn(node, pgettext("import", "invalid e-mail address (%(reason)s): %(value)s")
                      % {"reason": reason, "value": value[:80]})

    def iban(self, node, value: str) -> str:
        try:
            return str(IBAN(value).compact)
        except SchwiftyException as exc:
            self.warn(node, pgettext("import", "invalid IBAN (%(error)s): %(value)s")
                      % {"error": exc, "value": value[:40]})
            return ""


def check_totals(reader: Reader, node, doc: EDocument) -> None:
    if doc.amount_excl_tax + doc.tax != doc.total:
        raise reader.error(node, pgettext("import", "the total (%(total)s) is not the amount excl. tax (%(net)s) plus "
                                           "the VAT (%(tax)s)")
                           % {"total": doc.total, "net": doc.amount_excl_tax, "tax": doc.tax})
    if doc.amount_due > doc.total or doc.amount_due < 0:
        raise reader.error(node, pgettext("import", "the amount due (%(due)s) must be between 0 and the total "
                                           "(%(total)s)") % {"due": doc.amount_due, "total": doc.total})
    if doc.due_date is not None and doc.due_date < doc.issue_date:
        raise reader.error(node, pgettext("import", "the due date is before the invoice date"))


def flip_negative(doc: EDocument) -> None:
    """A corrective invoice (384) with a negative total gives money back: a credit note of the opposite amounts."""
    if doc.total < 0 and not doc.is_credit_note:
        doc.is_credit_note = True
        doc.amount_excl_tax, doc.tax, doc.total = -doc.amount_excl_tax, -doc.tax, -doc.total
        doc.amount_due = -doc.amount_due


