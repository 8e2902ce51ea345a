"""EPC (SEPA credit transfer) QR code for e-mails, as a PNG data: URI.

The QR itself comes from `relance.lib.qr.epc_qr` (the letters use the same one, checked against the
EPC069-12 standard); e-mails need a PNG, which the e-mail channel sends as an inline (cid:) image.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from functools import lru_cache

from relance.lib.qr import AMOUNT_MAX, EpcError, epc_qr

log = logging.getLogger(__name__)


def epc_qr_png_data_uri(name: str, iban: str, bic: str, amount: Decimal, reference: str) -> str:
    """The QR code a banking app scans to prefill the transfer; "" when there is nothing to pay."""
    if not iban or amount is None or amount <= 0 or amount > AMOUNT_MAX:
        return ""
    return _cached(name, iban, bic or "", str(amount), reference)


@lru_cache(maxsize=1024)
def _cached(name: str, iban: str, bic: str, amount: str, reference: str) -> str:
    try:
        qr = epc_qr(name, iban, bic, Decimal(amount), reference)
    except EpcError as exc:
        # A bad IBAN must not stop the reminder: it goes without the QR code, the text still has the IBAN.
        log.warning("no EPC QR code: %s", exc)
        return ""
    return qr.png_data_uri(scale=4, border=2)
