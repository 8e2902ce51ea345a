"""How an invoice is recognised in what a payer writes: invoice-number keys and creditor references.

Pure (no ORM): `relance.ledger.matching` reads bank lines with it, `relance.channels.context` puts
`creditor_reference` on every message and EPC QR code, so the reference asked for is the one read back.

Invoice numbers are typed in many ways (`FA-2026-0012`, `FA2026 12`, `fact 12`, `F 2026/0012`): both
sides are reduced to the same keys — the compact number (letters and digits only), (year, sequence)
with the leading zeros dropped, and the sequence alone (weakest: it needs a word before it).

A structured creditor reference (ISO 11649, "RF" + 2 check digits + up to 21 letters or digits) carries
a tag and our own reference: "F" + the compact invoice number, or "C" + the compact customer code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from stdnum import iso11649
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.iso7064 import mod_97_10

RF_BODY_MAX = 21
INVOICE_TAG = "F"
CUSTOMER_TAG = "C"

# A run of letters (the prefix: FA, F, FACT, FACTURE, INV …), then digits in one or two groups.
_NUMBER = re.compile(r"([A-Z]*)[^A-Z0-9]{0,3}(\d+)(?:[ \-_/.]{1,3}(\d+))?")
_RF = re.compile(r"RF\d\d[A-Z0-9 ]{1,26}")
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
# Legal forms dropped from payer names ("ACME SARL" pays as "ACME").
_LEGAL_FORMS = frozenset({
    "SARL", "SAS", "SASU", "SA", "EURL", "SNC", "SCI", "SCP", "SCOP", "SELARL", "EI", "EIRL", "GIE", "LTD",
    "LIMITED", "GMBH", "AG", "BV", "NV", "SRL", "SPA", "INC", "LLC", "CO", "STE", "SOCIETE", "ETS", "ETABLISSEMENTS",
})


@dataclass(frozen=True)
class NumberKey:
    """One way to recognise an invoice number: kind is "compact", "year_seq" or "seq"."""

    kind: str
    value: tuple
    prefix: str = ""


def _fold(text: str) -> str:
    """Upper case without accents."""
    if text.isascii():
        return text.upper()
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).upper()


def compact(text: str) -> str:
    """Letters and digits only, upper case: "fa-2026/0012" -> "FA20260012"."""
    return _NON_ALNUM.sub("", _fold(text))


def _keys(prefix: str, first: str, second: str | None) -> list[NumberKey]:
    keys = []
    if second is not None:
        if len(first) == 4 and first[:2] in ("19", "20"):
            keys.append(NumberKey("year_seq", (first, int(second)), prefix))
        seq = int(second)
    elif len(first) > 4 and first[:2] in ("19", "20"):
        # "FA20260012": a year glued to its sequence.
        keys.append(NumberKey("year_seq", (first[:4], int(first[4:])), prefix))
        seq = int(first[4:])
    else:
        seq = int(first)
    keys.append(NumberKey("seq", (seq,), prefix))
    return keys


def number_parts(number: str) -> tuple[str, tuple[str, int] | None, int | None, str]:
    """(compact, (year, sequence) or None, sequence or None, letters prefix) of an invoice number: what
    the index is built from (one regular-expression match per invoice: the index holds a million)."""
    folded = _fold(number)
    match = _NUMBER.search(folded)
    if match is None:
        return compact(number), None, None, ""
    prefix, first, second = match.groups()
    if match.start() == 0 and match.end() == len(folded):
        whole = prefix + first + (second or "")  # "FA-2026-0012": only separators to drop
    else:
        whole = compact(number)
    year_seq = None
    if second is not None:
        if len(first) == 4 and first[:2] in ("19", "20"):
            year_seq = (first, int(second))
        seq = int(second)
    elif len(first) > 4 and first[:2] in ("19", "20"):
        year_seq = (first[:4], int(first[4:]))
        seq = int(first[4:])
    else:
        seq = int(first)
    return whole, year_seq, seq, prefix


def invoice_keys(number: str) -> list[NumberKey]:
    """The keys an invoice number is indexed under (the first run of letters and digits in it)."""
    whole, year_seq, seq, prefix = number_parts(number)
    keys = [NumberKey("compact", (whole,))]
    if year_seq is not None:
        keys.append(NumberKey("year_seq", year_seq, prefix))
    if seq is not None:
        keys.append(NumberKey("seq", (seq,), prefix))
    return keys


def text_keys(text: str) -> list[list[NumberKey]]:
    """For each invoice-number-like token of a remittance text, in order, its keys strongest first."""
    folded = _fold(text)
    tokens: list[list[NumberKey]] = []
    for match in _NUMBER.finditer(folded):
        prefix, first, second = match.group(1), match.group(2), match.group(3)
        keys = [NumberKey("compact", (prefix + first + (second or ""),))]
        if second is not None:
            keys.append(NumberKey("compact", (prefix + first,)))
        tokens.append(keys + _keys(prefix, first, second))
    return tokens


def prefixes_agree(typed: str, ours: str) -> bool:
    """"F" or "FACT" typed for "FA", or nothing typed: one is the start of the other."""
    return not typed or not ours or typed.startswith(ours) or ours.startswith(typed)


def _rf(tag: str, value: str) -> str:
    body = tag + compact(value)
    if len(body) > RF_BODY_MAX or len(body) < 2:
        return ""
    return "RF" + mod_97_10.calc_check_digits(body + "RF") + body


def creditor_reference(invoice) -> str:
    """The ISO 11649 reference of an invoice (anything with `.number`), "" when its number is too long."""
    return _rf(INVOICE_TAG, invoice.number)


def customer_creditor_reference(customer) -> str:
    """The ISO 11649 reference of a customer (anything with `.external_id`): a message about several invoices."""
    return _rf(CUSTOMER_TAG, customer.external_id)


def read_creditor_references(*texts: str) -> list[tuple[str, str]]:
    """(tag, compact value) of each valid RF reference found in these texts (check digits verified)."""
    found = []
    for text in texts:
        for match in _RF.finditer(_fold(text)):
            candidate = match.group(0).replace(" ", "")
            # Spaces may split the reference (printed by groups of 4) or end it: try the longest first.
            for end in range(len(candidate), 4, -1):
                try:
                    ref = iso11649.validate(candidate[:end])
                except StdnumError:
                    continue
                body = ref[4:]
                found.append((body[0], body[1:]))
                break
    return found


def normalise_name(name: str) -> str:
    """A payer's name as compared: folded, punctuation and legal forms dropped ("Dupont S.A.R.L." -> "DUPONT")."""
    folded = _fold(name).replace(".", "")
    words = [w for w in re.split(r"[^A-Z0-9]+", folded) if w and w not in _LEGAL_FORMS]
    return " ".join(words)


def normalise_iban(iban: str) -> str:
    return compact(iban)
