"""OFX statements (1.x SGML and 2.x XML) read with ofxtools' parser.

ofxtools' parser reads the header and the tags of either syntax into a tree; its model layer
(`convert()`) is left aside: it refuses most real bank files for a field longer than the
specification allows or in another order. The transactions (STMTTRN) are read from the tree.
ofxtools' tokeniser is made of regular expressions: no DTD, no entity, nothing fetched.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO
from xml.etree import ElementTree as ET

from django.utils.translation import pgettext
from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError

from relance.ledger.importers.statements.lines import (
    CREDIT,
    DEBIT,
    NOT_PAYMENT,
    BankLine,
    StatementError,
    parse_decimal,
)

# Transaction types of credits that are no customer's payment: interest, dividend, refunded fees.
_NOT_PAYMENT_TYPES = {"INT", "DIV", "FEE", "SRVCHG"}
# A file without header that is an OFX body all the same (seen from some banks): read as OFX 1.02.
_V1_HEADER = (b"OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\n"
              b"CHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n")


def is_ofx(head: bytes) -> bool:
    """Whether the start of a file looks like OFX (for format detection)."""
    start = head.lstrip()[:200].upper()
    return start.startswith(b"OFXHEADER") or b"<?OFX" in start or start.startswith(b"<OFX>")


def read_ofx(source: BinaryIO) -> Iterator[BankLine]:
    """The lines of an OFX file, statement by statement; StatementError on anything unreadable."""
    data = source.read().lstrip()
    if data[:5].upper() == b"<OFX>":
        data = _V1_HEADER + data
    tree = OFXTree()
    try:
        root = tree.parse(io.BytesIO(data))
    except OFXHeaderError as exc:
        raise StatementError(pgettext("import", "unreadable OFX header (%(error)s)") % {"error": _short(exc)},
                             pgettext("import", "header"))
    except (ParseError, ET.ParseError, UnicodeDecodeError, LookupError, ValueError, IndexError) as exc:
        raise StatementError(pgettext("import", "malformed or truncated OFX (%(error)s)") % {"error": _short(exc)},
                             "OFX")
    if root is None or root.tag != "OFX":
        raise StatementError(pgettext("import", "no OFX document"), "OFX")
    statements = [e for e in root.iter() if e.tag in ("STMTRS", "CCSTMTRS")]
    for n, stmt in enumerate(statements, 1):
        yield from _statement(stmt, f"{stmt.tag}[{n}]", n)


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


def _text(elem, path: str) -> str:
    found = elem.find(path)
    return " ".join(found.text.split()) if found is not None and found.text else ""


def _date(text: str, place: str) -> date:
    match = re.match(r"(\d{4})(\d{2})(\d{2})", text)
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise StatementError(pgettext("import", "unreadable date: %(value)s") % {"value": repr(text)}, place)


def _statement(stmt, place: str, statement: int) -> Iterator[BankLine]:
    currency = _text(stmt, "CURDEF").upper()
    account = _text(stmt, "BANKACCTFROM/ACCTID") or _text(stmt, "CCACCTFROM/ACCTID")
    for n, tx in enumerate(stmt.findall("BANKTRANLIST/STMTTRN"), 1):
        tx_place = f"{place}/BANKTRANLIST/STMTTRN[{n}]"
        amount_text = _text(tx, "TRNAMT")
        if not amount_text:
            raise StatementError(pgettext("import", "amount (TRNAMT) missing"), tx_place)
        signed = amount_text.replace(",", ".").strip()
        amount = parse_decimal(signed, f"{tx_place}/TRNAMT")
        posted = _text(tx, "DTPOSTED") or _text(tx, "DTUSER")
        if not posted:
            raise StatementError(pgettext("import", "date (DTPOSTED) missing"), tx_place)
        trntype = _text(tx, "TRNTYPE").upper()
        if signed.startswith("-") or amount == 0:
            kind = DEBIT
        elif trntype in _NOT_PAYMENT_TYPES:
            kind = NOT_PAYMENT
        else:
            kind = CREDIT
        tx_currency = (_text(tx, "CURRENCY/CURSYM") or _text(tx, "ORIGCURRENCY/CURSYM") or currency).upper()
        if not re.fullmatch(r"[A-Z]{3}", tx_currency):
            raise StatementError(pgettext("import", "currency (CURDEF) missing or unreadable: %(value)s")
                                 % {"value": repr(tx_currency)}, f"{place}/CURDEF")
        name = _text(tx, "NAME") or _text(tx, "PAYEE/NAME")
        memo = _text(tx, "MEMO")
        yield BankLine(
            kind=kind, amount=amount, currency=tx_currency, booking_date=_date(posted, f"{tx_place}/DTPOSTED"),
            account=account, bank_ref=_text(tx, "FITID"), tx_id=_text(tx, "REFNUM"),
            remittance=memo if memo != name else "", payer_name=name[:200], place=tx_place, statement=statement,
        )
