"""A bank statement line as the readers give it (CAMT, OFX, MT940), and its stable key. Pure."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import pgettext

from relance.lib.money import cents

# What a reader says of a line it read; only CREDIT lines become payments.
CREDIT = "credit"
DEBIT = "debit"
REVERSAL = "reversal"  # a credit or debit the bank took back
NOT_PAYMENT = "not_payment"  # a credit that cannot be a customer's payment: interest, own-account transfer...
NOT_BOOKED = "not_booked"  # pending or information only

KEY_MAX = 100  # Payment.bank_transaction_id


class StatementError(Exception):
    """The file cannot be read as a statement; `place` says where (line, element path or :tag:)."""

    def __init__(self, message: str, place: str = ""):
        super().__init__(f"{place}: {message}" if place else message)
        self.message, self.place = message, place


@dataclass(slots=True)
class BankLine:
    kind: str  # CREDIT, DEBIT, REVERSAL, NOT_PAYMENT, NOT_BOOKED
    amount: Decimal  # positive
    currency: str
    booking_date: date
    value_date: date | None = None
    account: str = ""  # the statement's account: IBAN when known, else the bank's account id
    bank_ref: str = ""  # the bank's own reference of the line (AcctSvcrRef, FITID, :61: bank reference)
    end_to_end_id: str = ""
    tx_id: str = ""
    remittance: str = ""  # unstructured remittance, lines joined with a space
    structured_ref: str = ""  # creditor reference (RF...) or other structured reference
    payer_name: str = ""
    payer_iban: str = ""
    place: str = ""  # where in the file, for messages
    statement: int = 0  # which statement of the file (occurrences of identical lines are counted in each)

    @property
    def reference(self) -> str:
        """The text stored as the payment's reference: the structured reference first, then the remittance."""
        parts = [p for p in (self.structured_ref, self.remittance) if p]
        if len(parts) == 2 and parts[0] in parts[1]:
            parts = [parts[1]]
        return " ".join(parts)[:200]


def parse_decimal(text: str | None, place: str) -> Decimal:
    """A statement amount ('1405.31', '18.150', '12,50'): a positive Decimal rounded to the cent."""
    raw = (text or "").strip().replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise StatementError(pgettext("import", "unreadable amount: %(value)s") % {"value": repr(text)}, place)
    if not value.is_finite() or value.copy_abs() >= Decimal("1e12"):
        raise StatementError(pgettext("import", "amount out of range: %(value)s") % {"value": repr(text)}, place)
    return cents(value.copy_abs())


class KeyMaker:
    """Gives each line of one statement its stable unique key (Payment.bank_transaction_id).

    The bank's reference, prefixed with the account (FITIDs are unique per account only), when the
    line has one; else a hash of what the line says, with its occurrence among identical lines of
    the statement: the second identical transfer of a day is another payment, the same line read
    again from an overlapping statement is the same one.
    """

    def __init__(self) -> None:
        self.seen: Counter[tuple] = Counter()
        self.statement: tuple = ()

    def key(self, line: BankLine) -> str:
        if (line.account, line.statement) != self.statement:
            self.statement = (line.account, line.statement)
            self.seen.clear()
        if line.bank_ref:
            key = f"{line.account}:{line.bank_ref}" if line.account else line.bank_ref
            if len(key) <= KEY_MAX:
                return key
            return "ref:" + hashlib.sha256(key.encode()).hexdigest()
        what = (line.account, line.booking_date.isoformat(), str(line.amount), line.currency,
                line.remittance, line.structured_ref, line.payer_name, line.payer_iban)
        n = self.seen[what]
        self.seen[what] = n + 1
        return "sha256:" + hashlib.sha256("\x1f".join([*what, str(n)]).encode()).hexdigest()
