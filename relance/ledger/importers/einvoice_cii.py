"""CII invoices (UN/CEFACT Cross Industry Invoice: Factur-X, ZUGFeRD 2.x; and ZUGFeRD 1.0) into EDocuments."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.utils.translation import pgettext

from relance.ledger.importers.einvoice_base import (
    CREDIT_NOTE_CODES,
    EDocument,
    Party,
    Reader,
    check_totals,
    element_path,
    flip_negative,
)

CII_100 = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
ZUGFERD_1 = "urn:ferd:CrossIndustryDocument:invoice:1p0"
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


class CiiReader(Reader):
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
            raise self.error(node, pgettext("import", "%(label)s: invalid date %(value)s (format 102 YYYYMMDD "
                                            "expected)") % {"label": label, "value": repr(raw[:40])})
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
            raise self.error(root, pgettext("import", "element %(element)s missing") % {"element": v["doc"]})
        number, _ = self.required(doc_node, "ram:ID", pgettext("import", "invoice number"))
        type_code = self.text(doc_node, "ram:TypeCode", 3) or "380"
        issue = self.cii_date(doc_node, "ram:IssueDateTime/udt:DateTimeString", pgettext("import", "invoice date"))
        if issue is None:
            raise self.error(doc_node, pgettext("import", "invoice date missing"),
                             element_path(doc_node) + "/ram:IssueDateTime")
        tx = self.node(root, v["tx"])
        agreement, settlement = self.node(tx, v["agreement"]), self.node(tx, v["settlement"])
        if settlement is None:
            raise self.error(tx if tx is not None else root,
                             pgettext("import", "element %(element)s missing") % {"element": v["settlement"]})
        summation = self.node(settlement, v["sum"])
        if summation is None:
            raise self.error(settlement, pgettext("import", "element %(element)s missing") % {"element": v["sum"]})
        currency = self.currency(settlement, "ram:InvoiceCurrencyCode")
        total = self.amount(summation, "ram:GrandTotalAmount", pgettext("import", "total incl. tax"))
        tax_node = self.node(summation, f"ram:TaxTotalAmount[not(@currencyID) or @currencyID='{currency}']")
        tax = self.amount(summation, f"ram:TaxTotalAmount[not(@currencyID) or @currencyID='{currency}']",
                          pgettext("import", "VAT"), required=False) if tax_node is not None else None
        excl = self.amount(summation, "ram:TaxBasisTotalAmount", pgettext("import", "total excl. tax"), required=False)
        if excl is None:
            excl = total - (tax or Decimal("0"))
        if tax is None:
            tax = total - excl
        due = self.amount(summation, "ram:DuePayableAmount", pgettext("import", "amount due"), required=False)
        if due is None:
            prepaid = self.amount(summation, "ram:TotalPrepaidAmount", pgettext("import", "already paid"),
                                  required=False) or Decimal("0")
            due = total - prepaid
        terms = self.node(settlement, "ram:SpecifiedTradePaymentTerms")
        iban_node = self.node(settlement, "ram:SpecifiedTradeSettlementPaymentMeans/"
                                          "ram:PayeePartyCreditorFinancialAccount/ram:IBANID")
        doc = EDocument(
            filename=self.filename, syntax="cii", is_credit_note=type_code in CREDIT_NOTE_CODES,
            type_code=type_code, number=number, issue_date=issue,
            due_date=self.cii_date(terms, "ram:DueDateDateTime/udt:DateTimeString", pgettext("import", "due date")),
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
            raise self.error(settlement, pgettext("import", "currency missing"),
                             element_path(settlement) + "/ram:InvoiceCurrencyCode")
        if not doc.buyer.name:
            raise self.error(agreement if agreement is not None else tx, pgettext("import", "buyer name missing"),
                             (element_path(agreement) if agreement is not None else "") + "/ram:BuyerTradeParty")
        flip_negative(doc)
        check_totals(self, summation, doc)
        doc.warnings = self.warnings
        return doc
