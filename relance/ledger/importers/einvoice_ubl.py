"""UBL 2.1 invoices and credit notes (EN 16931, Peppol BIS 3, CTC-FR) into EDocuments."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.utils.translation import pgettext
from lxml import etree

from relance.ledger.importers.einvoice_base import (
    CREDIT_NOTE_CODES,
    EDocument,
    Party,
    Reader,
    check_totals,
    flip_negative,
)

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


class UblReader(Reader):
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
        number, _ = self.required(root, "cbc:ID", pgettext("import", "invoice number"))
        type_code = self.text(root, "cbc:CreditNoteTypeCode" if self.credit_note else "cbc:InvoiceTypeCode", 3)
        type_code = type_code or ("381" if self.credit_note else "380")
        issue = self.ubl_date(root, "cbc:IssueDate", pgettext("import", "invoice date"))
        if issue is None:
            raise self.error(root, pgettext("import", "invoice date missing"),
                             "/" + etree.QName(root).localname + "/cbc:IssueDate")
        totals = self.node(root, "cac:LegalMonetaryTotal")
        if totals is None:
            raise self.error(root, pgettext("import", "element %(element)s missing")
                             % {"element": "cac:LegalMonetaryTotal"})
        currency = self.currency(root, "cbc:DocumentCurrencyCode")
        if not currency:
            raise self.error(root, pgettext("import", "currency missing"),
                             "/" + etree.QName(root).localname + "/cbc:DocumentCurrencyCode")
        total = self.amount(totals, "cbc:TaxInclusiveAmount", pgettext("import", "total incl. tax"))
        excl = self.amount(totals, "cbc:TaxExclusiveAmount", pgettext("import", "total excl. tax"), required=False)
        tax = self.amount(root, f"cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency}']", pgettext("import", "VAT"),
                          required=False)
        if excl is None:
            excl = total - (tax or Decimal("0"))
        if tax is None:
            tax = total - excl
        due = self.amount(totals, "cbc:PayableAmount", pgettext("import", "amount due"), required=False)
        rounding = self.amount(totals, "cbc:PayableRoundingAmount", pgettext("import", "rounding"),
                               required=False) or Decimal("0")
        if due is None:
            prepaid = self.amount(totals, "cbc:PrepaidAmount", pgettext("import", "already paid"),
                                  required=False) or Decimal("0")
            due = total - prepaid + rounding
        # The payable rounding (BT-114) belongs to what is owed: the total then includes it.
        total += rounding
        excl += rounding
        means = self.node(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")
        due_date = self.ubl_date(root, "cbc:DueDate", pgettext("import", "due date")) or self.ubl_date(
            root, "cac:PaymentMeans/cbc:PaymentDueDate", pgettext("import", "due date"))
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
            raise self.error(root, pgettext("import", "buyer name missing"), "/" + etree.QName(root).localname
                             + "/cac:AccountingCustomerParty")
        flip_negative(doc)
        check_totals(self, totals, doc)
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
