"""Reading e-invoices: CII (Factur-X, ZUGFeRD 1.0 and 2.x) and UBL 2.1 XML into plain `EDocument`s. Pure.

The XML is parsed safely (lxml: no entity expansion, no network, no huge trees; any DTD refused),
and every problem is an `EInvoiceError` naming the file, the line and the element path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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

CII_100 = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
ZUGFERD_1 = "urn:ferd:CrossIndustryDocument:invoice:1p0"
UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
# The two generations of CII: element names of the header differ, the parties do not.
CII_VERSIONS = {
    CII_100: {
        "ns": {"rsm": CII_100,
               "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
               "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"},
        "doc": "rsm:ExchangedDocument",
        "context": "rsm:ExchangedDocumentContext",
        "tx": "rsm:SupplyChainTradeTransaction",
        "agreement": "ram:ApplicableHeaderTradeAgreement",
        "settlement": "ram:ApplicableHeaderTradeSettlement",
        "sum": "ram:SpecifiedTradeSettlementHeaderMonetarySummation",
    },
    ZUGFERD_1: {
        "ns": {"rsm": ZUGFERD_1,
               "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
               "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15"},
        "doc": "rsm:HeaderExchangedDocument",
        "context": "rsm:SpecifiedExchangedDocumentContext",
        "tx": "rsm:SpecifiedSupplyChainTradeTransaction",
        "agreement": "ram:ApplicableSupplyChainTradeAgreement",
        "settlement": "ram:ApplicableSupplyChainTradeSettlement",
        "sum": "ram:SpecifiedTradeSettlementMonetarySummation",
    },
}
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
    """A file that cannot be read as an e-invoice: where (line, element path) and why, in French."""

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
        raise EInvoiceError(filename, "DTD ou entités interdites dans une facture électronique", line, "<!DOCTYPE>")
    if not head.startswith(b"<"):
        raise EInvoiceError(filename, "ce n'est pas un fichier XML")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        message = (exc.msg or str(exc)).strip()
        raise EInvoiceError(filename, f"XML invalide ou tronqué ({message})", line, f"colonne {exc.position[1]}")
    if root is None:
        raise EInvoiceError(filename, "XML vide")
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        # A DOCTYPE after a long prologue: not expanded (resolve_entities=False), refused all the same.
        raise EInvoiceError(filename, "DTD ou entités interdites dans une facture électronique", 1, "<!DOCTYPE>")
    return tree


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


def read_document(data: bytes, filename: str) -> EDocument:
    """An e-invoice file's XML (CII or UBL, told apart by the root element) as an EDocument."""
    tree = parse_xml(data, filename)
    namespace, local = root_namespace(tree)
    if namespace in CII_VERSIONS and local in ("CrossIndustryInvoice", "CrossIndustryDocument"):
        return _Cii(tree, filename, CII_VERSIONS[namespace]).read()
    if (namespace, local) in ((UBL_INVOICE, "Invoice"), (UBL_CREDIT_NOTE, "CreditNote")):
        return _Ubl(tree, filename, local == "CreditNote").read()
    raise EInvoiceError(
        filename,
        f"élément racine {{{namespace}}}{local} inattendu : une facture CII (CrossIndustryInvoice) "
        "ou UBL 2.1 (Invoice, CreditNote) est attendue", tree.getroot().sourceline or 1, f"/{local}")


def kind_of_xml(data: bytes) -> str | None:
    """'cii' or 'ubl' from the root element of an XML file, None when it is neither (or not XML)."""
    try:
        tree = parse_xml(data, "")
    except EInvoiceError:
        return None
    namespace, local = root_namespace(tree)
    if namespace in CII_VERSIONS:
        return "cii"
    if namespace in (UBL_INVOICE, UBL_CREDIT_NOTE):
        return "ubl"
    return None


class _Reader:
    """Reads values at XPath places; each problem names the element's line and path."""

    ns: dict[str, str]

    def __init__(self, tree: etree._ElementTree, filename: str):
        self.tree, self.filename = tree, filename
        self.warnings: list[EInvoiceError] = []

    def warn(self, node, message: str) -> None:
        self.warnings.append(self.error(node, message + " (ignoré)"))

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
            raise self.error(node, f"trop long ({len(value)} caractères, {max_length} au plus)")
        return value

    def required(self, ctx, path: str, label: str, max_length: int = 64) -> tuple[str, object]:
        node = self.node(ctx, path)
        value = self.text(ctx, path, max_length)
        if not value:
            where = node if node is not None else ctx
            place = element_path(ctx) + "/" + path if ctx is not None else path
            raise self.error(where, f"{label} manquant", place if node is None else "")
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
            raise self.error(node, f"devise : {exc}")

    def amount(self, ctx, path: str, label: str, required: bool = True) -> Decimal | None:
        node = self.node(ctx, path)
        raw = (node.text or "").strip() if node is not None else ""
        if not raw:
            if required:
                place = (element_path(ctx) if ctx is not None else "") + "/" + path
                raise self.error(ctx, f"{label} manquant", place)
            return None
        if not _AMOUNT.fullmatch(raw):
            raise self.error(node, f"{label} : montant invalide {raw[:40]!r}")
        try:
            value = Decimal(raw).quantize(CENT, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise self.error(node, f"{label} : montant invalide {raw[:40]!r}")
        if abs(value) >= MAX_AMOUNT:
            raise self.error(node, f"{label} : montant trop grand {raw[:40]}")
        return value

    def iso_date(self, node, raw: str, label: str) -> date:
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            raise self.error(node, f"{label} : date invalide {raw[:40]!r}")
        if not 1900 <= value.year <= 2200:
            raise self.error(node, f"{label} : date hors limites {raw}")
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
                    self.warn(node, f"SIREN invalide ({exc}) : {value}")
        elif scheme == "0009":
            try:
                party.siret = party.siret or fr_siret.validate(compact)
            except StdnumError as exc:
                self.warn(node, f"SIRET invalide ({exc}) : {value}")
                return
            party.siren = party.siren or party.siret[:9]

    def vat(self, node, party: Party, value: str) -> None:
        try:
            party.vat = eu_vat.validate(value)
        except StdnumError:
            # Outside the EU (NO, CH ...) stdnum has no rule: kept as written, compacted.
            if value[:2].lower() in eu_vat.MEMBER_STATES or value[:2].upper() == "EL":
                self.warn(node, f"numéro de TVA invalide : {value}")
            else:
                party.vat = value.replace(" ", "").upper()[:20]

    def email(self, node, party: Party, value: str) -> None:
        if not value or party.email:
            return
        try:
            party.email = clean_email(value)
        except Exception as exc:  # django ValidationError: its messages are the reason
            reason = "; ".join(getattr(exc, "messages", [str(exc)]))
            self.warn(node, f"adresse e-mail invalide ({reason}) : {value[:80]}")

    def iban(self, node, value: str) -> str:
        try:
            return str(IBAN(value).compact)
        except SchwiftyException as exc:
            self.warn(node, f"IBAN invalide ({exc}) : {value[:40]}")
            return ""


def _check_totals(reader: _Reader, node, doc: EDocument) -> None:
    if doc.amount_excl_tax + doc.tax != doc.total:
        raise reader.error(node, f"le total ({doc.total}) n'est pas égal au HT ({doc.amount_excl_tax}) plus la TVA "
                                 f"({doc.tax})")
    if doc.amount_due > doc.total or doc.amount_due < 0:
        raise reader.error(node, f"le montant dû ({doc.amount_due}) doit être entre 0 et le total ({doc.total})")
    if doc.due_date is not None and doc.due_date < doc.issue_date:
        raise reader.error(node, "l'échéance précède la date de facture")


def _flip_negative(doc: EDocument) -> None:
    """A corrective invoice (384) with a negative total gives money back: a credit note of the opposite amounts."""
    if doc.total < 0 and not doc.is_credit_note:
        doc.is_credit_note = True
        doc.amount_excl_tax, doc.tax, doc.total = -doc.amount_excl_tax, -doc.tax, -doc.total
        doc.amount_due = -doc.amount_due


class _Cii(_Reader):
    def __init__(self, tree, filename: str, version: dict):
        super().__init__(tree, filename)
        self.v, self.ns = version, version["ns"]

    def cii_date(self, ctx, path: str, label: str) -> date | None:
        node = self.node(ctx, path)
        if node is None:
            return None
        raw = (node.text or "").strip()
        fmt = node.get("format", "102")
        if fmt != "102" or not re.fullmatch(r"[0-9]{8}", raw):
            raise self.error(node, f"{label} : date invalide {raw[:40]!r} (format 102 AAAAMMJJ attendu)")
        return self.iso_date(node, f"{raw[:4]}-{raw[4:6]}-{raw[6:]}", label)

    def party(self, node) -> Party:
        party = Party()
        if node is None:
            return party
        party.name = self.text(node, "ram:Name")
        party.identifier = self.text(node, "ram:ID", 64)
        for ident in node.xpath("ram:SpecifiedLegalOrganization/ram:ID | ram:GlobalID", namespaces=self.ns):
            self.party_ids(ident, party, ident.get("schemeID", ""), " ".join((ident.text or "").split()))
        for tax in node.xpath("ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']", namespaces=self.ns):
            self.vat(tax, party, (tax.text or "").strip())
        address = self.node(node, "ram:PostalTradeAddress")
        party.address_line1 = self.text(address, "ram:LineOne")
        party.address_line2 = self.text(address, "ram:LineTwo")
        party.postcode = self.text(address, "ram:PostcodeCode", 20)
        party.city = self.text(address, "ram:CityName", 100)
        party.country = self.text(address, "ram:CountryID", 2).upper()
        for path in ("ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']",
                     "ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID"):
            mail = self.node(node, path)
            if mail is not None:
                self.email(mail, party, (mail.text or "").strip())
        return party

    def read(self) -> EDocument:
        v, root = self.v, self.tree.getroot()
        doc_node = self.node(root, v["doc"])
        if doc_node is None:
            raise self.error(root, f"élément {v['doc']} manquant")
        number, _ = self.required(doc_node, "ram:ID", "numéro de facture")
        type_code = self.text(doc_node, "ram:TypeCode", 3) or "380"
        issue = self.cii_date(doc_node, "ram:IssueDateTime/udt:DateTimeString", "date de facture")
        if issue is None:
            raise self.error(doc_node, "date de facture manquante", element_path(doc_node) + "/ram:IssueDateTime")
        tx = self.node(root, v["tx"])
        agreement, settlement = self.node(tx, v["agreement"]), self.node(tx, v["settlement"])
        if settlement is None:
            raise self.error(tx if tx is not None else root, f"élément {v['settlement']} manquant")
        summation = self.node(settlement, v["sum"])
        if summation is None:
            raise self.error(settlement, f"élément {v['sum']} manquant")
        currency = self.currency(settlement, "ram:InvoiceCurrencyCode")
        total = self.amount(summation, "ram:GrandTotalAmount", "total TTC")
        tax_node = self.node(summation, f"ram:TaxTotalAmount[not(@currencyID) or @currencyID='{currency}']")
        tax = self.amount(summation, f"ram:TaxTotalAmount[not(@currencyID) or @currencyID='{currency}']",
                          "TVA", required=False) if tax_node is not None else None
        excl = self.amount(summation, "ram:TaxBasisTotalAmount", "total HT", required=False)
        if excl is None:
            excl = total - (tax or Decimal("0"))
        if tax is None:
            tax = total - excl
        due = self.amount(summation, "ram:DuePayableAmount", "montant dû", required=False)
        if due is None:
            prepaid = self.amount(summation, "ram:TotalPrepaidAmount", "déjà payé", required=False) or Decimal("0")
            due = total - prepaid
        terms = self.node(settlement, "ram:SpecifiedTradePaymentTerms")
        iban_node = self.node(settlement, "ram:SpecifiedTradeSettlementPaymentMeans/"
                                          "ram:PayeePartyCreditorFinancialAccount/ram:IBANID")
        doc = EDocument(
            filename=self.filename, syntax="cii", is_credit_note=type_code in CREDIT_NOTE_CODES,
            type_code=type_code, number=number, issue_date=issue,
            due_date=self.cii_date(terms, "ram:DueDateDateTime/udt:DateTimeString", "date d'échéance"),
            payment_terms=self.text(terms, "ram:Description", 500),
            currency=currency, amount_excl_tax=excl, tax=tax, total=total, amount_due=due,
            buyer=self.party(self.node(agreement, "ram:BuyerTradeParty")),
            seller=self.party(self.node(agreement, "ram:SellerTradeParty")),
            iban=self.iban(iban_node, (iban_node.text or "").strip()) if iban_node is not None else "",
            profile=self.text(root, f"{v['context']}/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", 200),
            referenced_invoices=[
                " ".join((n.text or "").split())
                for n in settlement.xpath("ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=self.ns)
                if (n.text or "").strip()
            ],
        )
        if not currency:
            raise self.error(settlement, "devise manquante", element_path(settlement) + "/ram:InvoiceCurrencyCode")
        if not doc.buyer.name:
            raise self.error(agreement if agreement is not None else tx, "nom de l'acheteur manquant",
                             (element_path(agreement) if agreement is not None else "") + "/ram:BuyerTradeParty")
        _flip_negative(doc)
        _check_totals(self, summation, doc)
        doc.warnings = self.warnings
        return doc


class _Ubl(_Reader):
    def __init__(self, tree, filename: str, credit_note: bool):
        super().__init__(tree, filename)
        self.credit_note = credit_note
        self.ns = {"d": UBL_CREDIT_NOTE if credit_note else UBL_INVOICE, **UBL_NS}

    def ubl_date(self, ctx, path: str, label: str) -> date | None:
        node = self.node(ctx, path)
        if node is None or not (node.text or "").strip():
            return None
        return self.iso_date(node, (node.text or "").strip(), label)

    def party(self, node) -> Party:
        party = Party()
        if node is None:
            return party
        party.name = (self.text(node, "cac:PartyLegalEntity/cbc:RegistrationName")
                      or self.text(node, "cac:PartyName/cbc:Name"))
        for ident in node.xpath("cac:PartyIdentification/cbc:ID", namespaces=self.ns):
            value = " ".join((ident.text or "").split())
            if ident.get("schemeID", "") in ("0002", "0009"):
                self.party_ids(ident, party, ident.get("schemeID"), value)
            elif not party.identifier:
                party.identifier = value[:64]
        for ident in node.xpath("cac:PartyLegalEntity/cbc:CompanyID", namespaces=self.ns):
            self.party_ids(ident, party, ident.get("schemeID", ""), " ".join((ident.text or "").split()))
        for tax in node.xpath("cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID", namespaces=self.ns):
            self.vat(tax, party, (tax.text or "").strip())
        address = self.node(node, "cac:PostalAddress")
        party.address_line1 = self.text(address, "cbc:StreetName")
        party.address_line2 = self.text(address, "cbc:AdditionalStreetName")
        party.postcode = self.text(address, "cbc:PostalZone", 20)
        party.city = self.text(address, "cbc:CityName", 100)
        party.country = self.text(address, "cac:Country/cbc:IdentificationCode", 2).upper()
        for path in ("cac:Contact/cbc:ElectronicMail", "cbc:EndpointID[@schemeID='EM']"):
            mail = self.node(node, path)
            if mail is not None:
                self.email(mail, party, (mail.text or "").strip())
        return party

    def read(self) -> EDocument:
        root = self.tree.getroot()
        number, _ = self.required(root, "cbc:ID", "numéro de facture")
        type_code = self.text(root, "cbc:CreditNoteTypeCode" if self.credit_note else "cbc:InvoiceTypeCode", 3)
        type_code = type_code or ("381" if self.credit_note else "380")
        issue = self.ubl_date(root, "cbc:IssueDate", "date de facture")
        if issue is None:
            raise self.error(root, "date de facture manquante", "/" + etree.QName(root).localname + "/cbc:IssueDate")
        totals = self.node(root, "cac:LegalMonetaryTotal")
        if totals is None:
            raise self.error(root, "élément cac:LegalMonetaryTotal manquant")
        currency = self.currency(root, "cbc:DocumentCurrencyCode")
        if not currency:
            raise self.error(root, "devise manquante", "/" + etree.QName(root).localname + "/cbc:DocumentCurrencyCode")
        total = self.amount(totals, "cbc:TaxInclusiveAmount", "total TTC")
        excl = self.amount(totals, "cbc:TaxExclusiveAmount", "total HT", required=False)
        tax = self.amount(root, f"cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency}']", "TVA", required=False)
        if excl is None:
            excl = total - (tax or Decimal("0"))
        if tax is None:
            tax = total - excl
        due = self.amount(totals, "cbc:PayableAmount", "montant dû", required=False)
        rounding = self.amount(totals, "cbc:PayableRoundingAmount", "arrondi", required=False) or Decimal("0")
        if due is None:
            prepaid = self.amount(totals, "cbc:PrepaidAmount", "déjà payé", required=False) or Decimal("0")
            due = total - prepaid + rounding
        # The payable rounding (BT-114) belongs to what is owed: the total then includes it.
        total += rounding
        excl += rounding
        means = self.node(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")
        due_date = self.ubl_date(root, "cbc:DueDate", "date d'échéance") or self.ubl_date(
            root, "cac:PaymentMeans/cbc:PaymentDueDate", "date d'échéance")
        doc = EDocument(
            filename=self.filename, syntax="ubl", is_credit_note=self.credit_note or type_code in CREDIT_NOTE_CODES,
            type_code=type_code, number=number, issue_date=issue, due_date=due_date,
            payment_terms=self.text(root, "cac:PaymentTerms/cbc:Note", 500),
            currency=currency, amount_excl_tax=excl, tax=tax, total=total, amount_due=due,
            buyer=self.party(self.node(root, "cac:AccountingCustomerParty/cac:Party")),
            seller=self.party(self.node(root, "cac:AccountingSupplierParty/cac:Party")),
            iban=self._iban(means),
            profile=self.text(root, "cbc:CustomizationID", 200),
            referenced_invoices=[
                " ".join((n.text or "").split())
                for n in root.xpath("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=self.ns)
                if (n.text or "").strip()
            ],
        )
        if not doc.buyer.name:
            raise self.error(root, "nom de l'acheteur manquant", "/" + etree.QName(root).localname
                             + "/cac:AccountingCustomerParty")
        _flip_negative(doc)
        _check_totals(self, totals, doc)
        doc.warnings = self.warnings
        return doc

    def _iban(self, node) -> str:
        if node is None:
            return ""
        value = (node.text or "").strip()
        # A payee account may be a national account number (not an IBAN): kept only when it is one.
        if not re.fullmatch(r"[A-Za-z]{2}[0-9]{2}[A-Za-z0-9 ]{8,40}", value):
            return ""
        return self.iban(node, value)
