"""Reading e-invoices: CII (Factur-X, ZUGFeRD 1.0 and 2.x) and UBL 2.1 XML into plain `EDocument`s. Pure.

The XML is parsed safely (lxml: no entity expansion, no network, no huge trees; any DTD refused),
and every problem is an `EInvoiceError` naming the file, the line and the element path. The root
element tells the syntax: einvoice_cii and einvoice_ubl read each.
"""

from __future__ import annotations

from django.utils.translation import pgettext

from relance.ledger.importers.einvoice_base import EDocument, EInvoiceError, Party, parse_xml, root_namespace
from relance.ledger.importers.einvoice_cii import CII_VERSIONS, CiiReader
from relance.ledger.importers.einvoice_ubl import UBL_CREDIT_NOTE, UBL_INVOICE, UblReader

__all__ = ["EDocument", "EInvoiceError", "Party", "kind_of_xml", "parse_xml", "read_document"]


def read_document(data: bytes, filename: str) -> EDocument:
    """An e-invoice file's XML (CII or UBL, told apart by the root element) as an EDocument."""
    tree = parse_xml(data, filename)
    namespace, local = root_namespace(tree)
    if namespace in CII_VERSIONS and local in ("CrossIndustryInvoice", "CrossIndustryDocument"):
        return CiiReader(tree, filename, CII_VERSIONS[namespace]).read()
    if (namespace, local) in ((UBL_INVOICE, "Invoice"), (UBL_CREDIT_NOTE, "CreditNote")):
        return UblReader(tree, filename, local == "CreditNote").read()
    raise EInvoiceError(
        filename,
        pgettext("import", "unexpected root element %(element)s: a CII (CrossIndustryInvoice) or UBL 2.1 (Invoice, "
                 "CreditNote) invoice is expected") % {"element": f"{{{namespace}}}{local}"},
        tree.getroot().sourceline or 1, f"/{local}")


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
