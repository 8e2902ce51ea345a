"""EPC QR code (EPC069-12 "Quick Response Code: guidelines to enable data capture for the initiation
of a SEPA credit transfer", version 002): a banking app scans it and prefills the transfer.

The payload, one field per line (LF):
    1 BCD              service tag
    2 002              version
    3 1                character set, 1 = UTF-8
    4 SCT              identification: SEPA credit transfer
    5 BIC              optional in version 002 inside the EEA; given when known
    6 name             beneficiary, at most 70 characters
    7 IBAN
    8 EUR<amount>      EUR0.01 to EUR999999999.99, '.' as decimal separator, at most 2 decimals
    9 purpose          optional 4-letter code
    10 reference       structured creditor reference (ISO 11649, RF..), at most 35 characters
    11 text            or unstructured remittance text, at most 140 characters (one of 10/11 only)
segno's `make_epc_qr` encodes the QR (error correction M, version <= 13, as the standard requires).
"""

from __future__ import annotations

from decimal import Decimal

import segno
import segno.helpers
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import iso11649
from stdnum.exceptions import ValidationError as StdnumError

NAME_MAX = 70
TEXT_MAX = 140
STRUCTURED_MAX = 35
AMOUNT_MIN = Decimal("0.01")
AMOUNT_MAX = Decimal("999999999.99")
PAYLOAD_MAX_BYTES = 331


class EpcError(ValueError):
    """The data cannot make a valid EPC QR code; the message says which field."""


def _one_line(value: str) -> str:
    # A line break inside a field would shift every following field.
    return " ".join((value or "").split())


def _fields(name: str, iban: str, bic: str, amount: Decimal, reference: str, purpose: str = "") -> dict:
    """The checked, normalised fields: schwifty validates IBAN and BIC, names are cut to the limits."""
    try:
        iban_c = IBAN(iban).compact
    except SchwiftyException as exc:
        raise EpcError(f"IBAN: {exc} ({iban!r})")
    bic_c = ""
    if bic:
        try:
            bic_c = BIC(bic).compact
        except SchwiftyException as exc:
            raise EpcError(f"BIC: {exc} ({bic!r})")
    if not isinstance(amount, Decimal):
        raise EpcError(f"amount: must be a Decimal, got {type(amount).__name__}")
    if amount != amount.quantize(AMOUNT_MIN) or not AMOUNT_MIN <= amount <= AMOUNT_MAX:
        raise EpcError(f"amount: must be between {AMOUNT_MIN} and {AMOUNT_MAX} with at most 2 decimals, got {amount}")
    name = _one_line(name)[:NAME_MAX].rstrip()
    if not name:
        raise EpcError("name: the beneficiary's name is required")
    if purpose and (len(purpose) != 4 or not purpose.isalnum()):
        raise EpcError(f"purpose: a 4-character code (ISO 20022 ExternalPurpose1Code), got {purpose!r}")
    reference = _one_line(reference)
    structured = ""
    try:
        if reference and len(reference) <= STRUCTURED_MAX:
            structured = iso11649.validate(reference)
    except StdnumError:
        structured = ""
    text = "" if structured else reference[:TEXT_MAX].rstrip()
    if not structured and not text:
        raise EpcError("reference: a remittance reference or text is required")
    return {"name": name, "iban": iban_c, "bic": bic_c, "amount": amount, "structured": structured,
            "text": text, "purpose": purpose.upper()}


def _amount(amount: Decimal) -> str:
    # EUR followed by the amount; trailing zeros dropped as segno writes it (EUR12.5, EUR100).
    return f"EUR{amount:.2f}".rstrip("0").rstrip(".")


def epc_payload(name: str, iban: str, bic: str, amount: Decimal, reference: str, purpose: str = "") -> str:
    """The EPC069-12 v002 payload (UTF-8, SEPA credit transfer) for one transfer."""
    f = _fields(name, iban, bic, amount, reference, purpose)
    lines = ["BCD", "002", "1", "SCT", f["bic"], f["name"], f["iban"], _amount(f["amount"]), f["purpose"],
             f["structured"]]
    if f["text"]:
        lines.append(f["text"])
    payload = "\n".join(lines)
    if len(payload.encode("utf-8")) > PAYLOAD_MAX_BYTES:
        raise EpcError(f"payload: {len(payload.encode('utf-8'))} bytes, the standard allows {PAYLOAD_MAX_BYTES}")
    return payload


def epc_qr(name: str, iban: str, bic: str, amount: Decimal, reference: str, purpose: str = "") -> segno.QRCode:
    """The QR code of `epc_payload(...)`, built by segno's EPC helper (error correction M)."""
    f = _fields(name, iban, bic, amount, reference, purpose)
    return segno.helpers.make_epc_qr(
        name=f["name"], iban=f["iban"], amount=f["amount"], text=f["text"] or None,
        reference=f["structured"] or None, bic=f["bic"] or None, purpose=f["purpose"] or None, encoding=1,
    )


def epc_svg_data_uri(name: str, iban: str, bic: str, amount: Decimal, reference: str) -> str:
    """The QR as an SVG data: URI (sharp at any print size), or "" when there is nothing to pay."""
    if not iban or amount is None or amount <= 0:
        return ""
    return epc_qr(name, iban, bic, amount, reference).svg_data_uri(scale=4, border=4)
