"""SWIFT MT940 statements, read with the `mt-940` library.

Details (:86:) come in several layouts; the library reads the German/French structured one
(`?20`..`?29` remittance, `?32`/`?33` name, `?31` account, SEPA keywords EREF+ SVWZ+ ...), and the
Dutch one (`/NAME/.../REMI/.../IBAN/...`) is read here. Anything else is kept as the remittance text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO

import mt940
import mt940.tags
from django.utils.translation import pgettext

from relance.ledger.importers.statements.lines import (
    CREDIT,
    DEBIT,
    REVERSAL,
    BankLine,
    StatementError,
    parse_decimal,
)


class _StatementLine(mt940.tags.Statement):
    """:61: with a customer reference up to 34 characters (Dutch banks, SNS and ASN, put the payer's IBAN
    there) and supplementary details over several lines (ING wraps the bank reference)."""

    pattern = (mt940.tags.Statement.pattern.replace("{0,16}", "{0,34}")
               .replace("(?P<extra_details>.*)", "(?P<extra_details>(?:.|\\n)*)"))


class _StatementNumber(mt940.tags.StatementNumber):
    """:28C: whose sequence number is wrapped onto the next line (ING)."""

    pattern = mt940.tags.StatementNumber.pattern.replace("(?:/?(?P<sequence", "(?:/?\\n?(?P<sequence")


_TAGS = {tag.id: tag for tag in (_StatementLine(), _StatementNumber())}
_TAG = re.compile(r"^:(\d\d[A-Z]?):", re.MULTILINE)
_NL_FIELDS = re.compile(
    r"/(TRTP|IBAN|BIC|NAME|REMI|EREF|MARF|CSID|ORDP|BENM|ADDR|ISDT|RTRN|SVCL|ID|CNTP|PREF|ULTC|ULTD|PURP|TRCD)/")
_IBAN = re.compile(r"[A-Z]{2}\d\d[A-Z0-9]{10,30}")
# Returns and cancellations: the bank gives back a payment of ours, or takes back one it credited.
_RETURN = re.compile(r"/RTRN/|RETOURE|STORNO|R[UÜ]CK[UÜ]BERWEISUNG", re.IGNORECASE)
_OPTIONS = mt940.Options(applicant_iban=True, strip_bom=True, gvc_leading_text=True)
_NO_REF = {"", "NONREF", "NOTPROVIDED"}


def is_mt940(head: bytes) -> bool:
    """Whether the start of a file looks like MT940 (for format detection)."""
    text = head.lstrip(b"\x01\xef\xbb\xbf \r\n")
    return bool(re.search(rb"^:(20|25|28C|60F|61):", text, re.MULTILINE)) or text.startswith(b"{1:")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("cp852")  # the library's own last resort: every byte has a character


def _check(text: str) -> None:
    """Each statement line (:61:) readable, and at least one tag: the library is lenient, we say where."""
    tags = list(_TAG.finditer(text))
    if not tags:
        raise StatementError(pgettext("import", "no MT940 tag (:20:, :25:, :61:...)"), _line_no(1))
    for n, match in enumerate(tags):
        if match.group(1) != "61":
            continue
        end = tags[n + 1].start() if n + 1 < len(tags) else len(text)
        value = text[match.end():end].replace("\r", "").strip("\n").split("\n-}")[0].rstrip()
        line = text.count("\n", 0, match.start()) + 1
        if not _TAGS[61].re.match(value):
            raise StatementError(pgettext("import", "unreadable entry line: %(value)s") % {"value": repr(value[:60])},
                                 ":61: " + _line_no(line))


def read_mt940(source: BinaryIO) -> Iterator[BankLine]:
    """The lines of an MT940 file, statement by statement; StatementError on anything unreadable."""
    text = _decode(source.read()).replace("\x01", "").replace("\x03", "")
    _check(text)
    try:
        statements = mt940.parse_statements(text, tags=_TAGS, options=_OPTIONS)
    except RuntimeError as exc:  # the library's "Unable to parse <tag> from <value>"
        raise _tag_error(text, exc)
    except ArithmeticError:  # decimal.InvalidOperation from the library's Amount
        raise StatementError(pgettext("import", "unreadable amount in a balance (:60F:, :62F:, :64:) or an entry "
                                      "(:61:)"))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise StatementError(pgettext("import", "unreadable MT940 statement (%(error)s)")
                             % {"error": " ".join(str(exc).split())[:200]})
    lines = []
    for n, statement in enumerate(statements, 1):
        account = _account(statement.data.get("account_identification") or "")
        place = ":61: " + pgettext("import", "no. %(n)s") % {"n": len(lines) + 1}
        lines += [_line(tx.data, account, place, n) for tx in statement]
    written = [m.start() for m in re.finditer(r"^:61:", text, re.MULTILINE)]
    if len(written) != len(lines):
        first = text.count("\n", 0, written[len(lines)] if len(lines) < len(written) else 0) + 1
        raise StatementError(pgettext("import", "%(written)s :61: entries in the file, %(read)s read: incomplete "
                                      "statement (no :20: or :25: before them?)")
                             % {"written": len(written), "read": len(lines)}, ":61: " + _line_no(first))
    yield from lines


def _tag_error(text: str, exc: RuntimeError) -> StatementError:
    """Say which tag, on which line, the library could not read."""
    tag = next((a for a in exc.args if isinstance(a, mt940.tags.Tag)), None)
    value = exc.args[-1] if exc.args and isinstance(exc.args[-1], str) else ""
    at = text.find(value.split("\n")[0]) if value else -1
    line = " " + _line_no(text.count(chr(10), 0, at) + 1) if at >= 0 else ""
    name = f":{tag.id}:" if tag is not None else "MT940"
    return StatementError(pgettext("import", "unreadable value: %(value)s") % {"value": repr(value[:60])},
                          f"{name}{line}")


def _line_no(line: int) -> str:
    return pgettext("import", "line %(line)s") % {"line": line}


def _account(value: str) -> str:
    """The :25: account: an IBAN (its currency suffix dropped: "NL77INGB0574908765EUR") or the bank's number."""
    value = value.strip().upper()
    first = value.split(" ")[0]
    if _IBAN.fullmatch(first):
        if not _iban_ok(first) and re.fullmatch(r"[A-Z]{3}", first[-3:]) and _iban_ok(first[:-3]):
            return first[:-3]
        return first
    return value.replace(" ", "")[:34]


def _iban_ok(iban: str) -> bool:
    """The IBAN check digits (ISO 13616 mod 97)."""
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def _line(data: dict, account: str, place: str, statement: int) -> BankLine:
    amount_obj = data.get("amount")
    if amount_obj is None:
        raise StatementError(pgettext("import", "amount missing"), place)
    amount = parse_decimal(str(amount_obj.amount), place)
    currency = (getattr(amount_obj, "currency", None) or data.get("currency") or "").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementError(pgettext("import", "currency missing or unreadable: %(value)s (balance :60F: expected)")
                             % {"value": repr(currency)}, place)
    status = data.get("status") or ""
    kind = REVERSAL if status.startswith("R") else (CREDIT if status == "C" else DEBIT)
    if kind == CREDIT and amount == 0:
        kind = DEBIT
    booked = data.get("entry_date") or data.get("date")
    booking_date = date(booked.year, booked.month, booked.day)
    value = data.get("date")
    name, iban, remittance, e2e = _details(data)
    if kind == CREDIT and _RETURN.search(f"{data.get('transaction_details') or ''} {data.get('posting_text') or ''}"):
        kind = REVERSAL
    if not iban:  # Dutch banks give the payer's account in the :61: reference or on its second line
        for candidate in (data.get("customer_reference"), data.get("extra_details")):
            candidate = (candidate or "").strip().upper()
            if _IBAN.fullmatch(candidate) and _iban_ok(candidate):
                iban = candidate
                break
    bank_ref = (data.get("bank_reference") or "").strip()
    return BankLine(
        kind=kind, amount=amount, currency=currency, booking_date=booking_date,
        value_date=date(value.year, value.month, value.day) if value else None, account=account,
        bank_ref="" if bank_ref.upper() in _NO_REF else bank_ref, end_to_end_id=e2e,
        remittance=remittance, payer_name=name[:200], payer_iban=iban[:34], place=place, statement=statement,
    )


def _details(data: dict) -> tuple[str, str, str, str]:
    """(payer name, payer IBAN, remittance, end-to-end id) from the :86: details."""
    raw = data.get("transaction_details")
    if raw is not None:  # not the ?xx layout: the Dutch /KEY/ layout, or free text
        fields = _nl_fields("".join(str(raw).splitlines()))
        if fields:
            return fields["NAME"], fields["IBAN"], fields["REMI"], fields["EREF"]
        return "", "", " ".join(str(raw).split()), ""
    name = " ".join((data.get("applicant_name") or "").split())
    iban = (data.get("applicant_iban") or data.get("gvc_applicant_iban") or "").replace(" ", "").upper()
    if not _IBAN.fullmatch(iban):
        iban = ""  # ?31 may hold a plain account number
    purpose = " ".join(p for p in (data.get("purpose"), data.get("additional_purpose")) if p)
    e2e = (data.get("end_to_end_reference") or "").strip()
    if e2e.upper() in _NO_REF:
        e2e = ""
    return name, iban, " ".join(purpose.split()) or e2e, e2e


def _nl_fields(raw: str) -> dict[str, str]:
    """The Dutch layout (ING, Rabobank, ABN AMRO SEPA): /EREF/x//CNTP/iban/bic/name/city///REMI/USTD//text/."""
    parts = _NL_FIELDS.split(raw)
    if len(parts) < 3:
        return {}
    found: dict[str, str] = {}
    for key, value in zip(parts[1::2], parts[2::2], strict=False):
        found.setdefault(key, value)
    counterparty = found.get("CNTP", "").split("/")
    name = found.get("NAME", "").strip("/ ") or (counterparty[2].strip() if len(counterparty) > 2 else "")
    iban = found.get("IBAN", "").strip("/ ") or counterparty[0].strip()
    remittance = re.sub(r"^(USTD//|STRD/CUR/|STRD/ISO/)", "", found.get("REMI", "")).strip("/ ")
    eref = found.get("EREF", "").strip("/ ")
    return {"NAME": " ".join(name.split()), "IBAN": iban.replace(" ", "").upper() if _IBAN.fullmatch(iban) else "",
            "REMI": " ".join(remittance.split()), "EREF": "" if eref.upper() in _NO_REF else eref}
