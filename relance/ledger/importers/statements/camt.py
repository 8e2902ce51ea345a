"""ISO 20022 CAMT.053 (statement) and CAMT.054 (debit/credit notification), every published version.

Streamed with lxml's iterparse: each entry (Ntry) is read, turned into lines and cleared with what
came before it, so a 50 MB file is read in flat memory. The parser loads no DTD, resolves no entity
and reaches no network; a document that declares a DTD at all is refused (an entity bomb needs one).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO

from django.utils.translation import pgettext
from lxml import etree

from relance.ledger.importers.statements.lines import (
    CREDIT,
    DEBIT,
    NOT_BOOKED,
    NOT_PAYMENT,
    REVERSAL,
    BankLine,
    StatementError,
    parse_decimal,
)

NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.05([34])\.001\.(\d\d)$")
VERSIONS = range(2, 14)  # .001.02 to .001.13
# Statement (053), notification (054), and the account report (052) which we do not take.
_BLOCKS = {"Stmt", "Ntfctn"}
# Bank transaction codes (ISO 20022 external code list) of credits that are no customer's payment.
_NOT_PAYMENT_DOMAINS = {"ACMT", "CAMT", "CMDT", "DERV", "FORX", "LDAS", "PMET", "SECU", "TRAD"}
_NOT_PAYMENT_SUBFAMILIES = {"INTR", "CHRG", "COMM", "FEES", "TAXE", "ADJT", "SWEP", "TOPG", "ZABA"}


def namespace_of(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def is_camt(head: bytes) -> bool:
    """Whether the start of a file looks like a CAMT.053/054 document (for format detection)."""
    return b"urn:iso:std:iso:20022:tech:xsd:camt.05" in head


def read_camt(source: BinaryIO) -> Iterator[BankLine]:
    """The lines of a CAMT.053/054 file, in file order; StatementError on anything unreadable."""
    parser = etree.iterparse(
        source, events=("start", "end"), tag=("{*}Document", "{*}Acct", "{*}Ntry", "{*}Stmt", "{*}Ntfctn"),
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True,
        remove_pis=True,
    )
    ns = ""
    account = ""
    created: date | None = None  # the statement's creation date: the date of an entry that gives none
    blocks = entries = 0
    try:
        for event, elem in parser:
            name = local(elem.tag)
            if not ns:
                ns = _check_root(elem)
            if event == "start":
                if name in _BLOCKS:
                    blocks += 1
                    entries = 0
                    account = ""
                    created = None
                continue
            if namespace_of(elem.tag) != ns:
                raise StatementError(pgettext("import", "element of another namespace: %(tag)s")
                                     % {"tag": elem.tag}, _path(elem))
            parent = local(elem.getparent().tag) if elem.getparent() is not None else ""
            if name == "Acct" and parent in _BLOCKS:
                account = _text(elem, "Id/IBAN") or _text(elem, "Id/Othr/Id")
                created = _created(elem.getparent())
            elif name == "Ntry" and parent in _BLOCKS:
                entries += 1
                place = f"{parent}[{blocks}]/Ntry[{entries}]"
                yield from _entry(elem, account, place, blocks, created)
                _forget(elem)
            elif name in _BLOCKS:
                _forget(elem)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 0)
        raise StatementError(pgettext("import", "malformed or truncated XML (%(error)s)") % {"error": exc.msg},
                             pgettext("import", "line %(line)s") % {"line": line})
    if not ns:
        raise StatementError(pgettext("import", "not a CAMT.053/054 statement (no Document element of that format)"))
    if not blocks:
        raise StatementError(pgettext("import", "neither statement (Stmt) nor notification (Ntfctn) in the document"),
                             "Document")


def _check_root(elem) -> str:
    """The document's namespace, after checking it is a CAMT.053/054 of a known version and has no DTD."""
    root = elem.getroottree()
    if root.docinfo.internalDTD is not None or root.docinfo.doctype:
        raise StatementError(pgettext("import", "DTD refused (XML entities not allowed in a statement)"), "DOCTYPE")
    top = root.getroot()
    ns = namespace_of(top.tag)
    match = NAMESPACE.match(ns)
    if local(top.tag) != "Document" or match is None:
        raise StatementError(pgettext("import", "not a CAMT.053/054 statement (root element %(tag)s)")
                             % {"tag": top.tag}, local(top.tag) or "/")
    if int(match.group(2)) not in VERSIONS:
        raise StatementError(pgettext("import", "unknown CAMT version: %(version)s") % {"version": ns}, "Document")
    return ns


def _forget(elem) -> None:
    """Free what was read: the element, and its earlier siblings still held by the parent."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


class _Flat:
    """An element's descendants by path of local names ("RltdPties/Dbtr/Nm"): one walk, then lookups.

    lxml's find() with a namespace wildcard costs some 50 µs a call, thirty calls an entry: most of
    the time of a big file. One walk of the entry is a few µs."""

    __slots__ = ("paths",)

    def __init__(self, elem, skip: str = "") -> None:
        paths: dict[str, list] = {}
        queue = deque([(elem, "")])  # breadth first: siblings keep their order
        while queue:
            node, prefix = queue.popleft()
            for child in node:
                tag = child.tag
                if isinstance(tag, str):
                    path = prefix + tag[tag.rfind("}") + 1:]
                    paths.setdefault(path, []).append(child)
                    if path != skip:
                        queue.append((child, path + "/"))
        self.paths = paths


def _find(node, path: str):
    if isinstance(node, _Flat):
        found = node.paths.get(path)
        return found[0] if found else None
    return node.find("/".join(f"{{*}}{p}" for p in path.split("/")))


def _findall(node, path: str) -> list:
    if isinstance(node, _Flat):
        return node.paths.get(path, [])
    return node.findall("/".join(f"{{*}}{p}" for p in path.split("/")))


def _text(elem, path: str) -> str:
    found = _find(elem, path)
    return " ".join(found.text.split()) if found is not None and found.text else ""


def _path(elem) -> str:
    names = []
    while elem is not None:
        names.append(local(elem.tag))
        elem = elem.getparent()
    return "/".join(reversed(names))


def _date(elem, path: str, place: str) -> date | None:
    """A date given as Dt or DtTm (the date part: the bank's own calendar day)."""
    if _find(elem, path) is None:
        return None
    text = _text(elem, f"{path}/Dt") or _text(elem, f"{path}/DtTm") or _text(elem, f"{path}/Dt/DtTm")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise StatementError(pgettext("import", "unreadable date: %(value)s") % {"value": repr(text)},
                             f"{place}/{path}")


def _created(block) -> date | None:
    try:
        return date.fromisoformat(_text(block, "CreDtTm")[:10]) if block is not None else None
    except ValueError:
        return None


def _status(entry) -> str:
    return _text(entry, "Sts/Cd") or _text(entry, "Sts/Prtry") or _text(entry, "Sts")


def _party(tx, role: str) -> tuple[str, str]:
    """Name and IBAN of the debtor (or ultimate debtor): v2-v7 put the name in Dbtr/Nm, v8+ in Dbtr/Pty/Nm."""
    name = _text(tx, f"RltdPties/{role}/Nm") or _text(tx, f"RltdPties/{role}/Pty/Nm")
    iban = _text(tx, f"RltdPties/{role}Acct/Id/IBAN")
    return name, iban.replace(" ", "").upper()


def _remittance(tx) -> tuple[str, str]:
    """(unstructured text, structured creditor reference) of a transaction."""
    texts = [" ".join(u.text.split()) for u in _findall(tx, "RmtInf/Ustrd") if u.text and u.text.strip()]
    refs = []
    for strd in map(_Flat, _findall(tx, "RmtInf/Strd")):
        ref = _text(strd, "CdtrRefInf/Ref")
        if ref and ref not in refs:
            refs.append(ref)
        texts += [n.text.strip() for n in _findall(strd, "RfrdDocInf/Nb") if n.text and n.text.strip()]
        texts += [" ".join(a.text.split()) for a in _findall(strd, "AddtlRmtInf") if a.text and a.text.strip()]
    return " ".join(texts), " ".join(refs)


def _tx_amount(tx, place: str) -> tuple | None:
    for path in ("AmtDtls/TxAmt/Amt", "Amt", "AmtDtls/InstdAmt/Amt"):
        found = _find(tx, path)
        if found is not None and found.text and found.text.strip():
            return parse_decimal(found.text, f"{place}/{path}"), (found.get("Ccy") or "").upper()
    return None


def _kind(entry, tx, indicator: str) -> str:
    if _text(entry, "RvslInd").lower() in ("true", "1"):
        return REVERSAL
    status = _status(entry)
    if status and status.upper() not in ("BOOK", "BOOKED"):
        return NOT_BOOKED
    if indicator == "DBIT":
        return DEBIT
    codes = tx if tx is not None and _find(tx, "BkTxCd/Domn") is not None else entry
    if _text(codes, "BkTxCd/Domn/Cd").upper() in _NOT_PAYMENT_DOMAINS:
        return NOT_PAYMENT
    if _text(codes, "BkTxCd/Domn/Fmly/SubFmlyCd").upper() in _NOT_PAYMENT_SUBFAMILIES:
        return NOT_PAYMENT
    return CREDIT


def _entry(entry, account: str, place: str, statement: int, created: date | None) -> Iterator[BankLine]:
    """One Ntry: a line per transaction (TxDtls) of a batch, else one line for the entry."""
    entry = _Flat(entry, skip="NtryDtls/TxDtls")  # each transaction is walked on its own below
    amount_elem = _find(entry, "Amt")
    if amount_elem is None:
        raise StatementError(pgettext("import", "amount missing"), f"{place}/Amt")
    amount = parse_decimal(amount_elem.text, f"{place}/Amt")
    currency = (amount_elem.get("Ccy") or "").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementError(pgettext("import", "currency missing or unreadable: %(value)s")
                             % {"value": repr(currency)}, f"{place}/Amt/@Ccy")
    indicator = _text(entry, "CdtDbtInd").upper()
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(pgettext("import", "unreadable direction (CdtDbtInd): %(value)s")
                             % {"value": repr(indicator)}, f"{place}/CdtDbtInd")
    booked = _date(entry, "BookgDt", place)
    valued = _date(entry, "ValDt", place)
    booking_date = booked or valued or created
    if booking_date is None:
        raise StatementError(pgettext("import", "neither booking date nor value date"), f"{place}/BookgDt")
    entry_ref = _text(entry, "AcctSvcrRef")
    txs = [_Flat(tx) for tx in _findall(entry, "NtryDtls/TxDtls")]
    if not txs:
        yield BankLine(kind=_kind(entry, None, indicator), amount=amount, currency=currency,
                       booking_date=booking_date, value_date=valued, account=account, bank_ref=entry_ref,
                       remittance=_text(entry, "AddtlNtryInf"), place=place, statement=statement)
        return
    amounts = [_tx_amount(tx, f"{place}/NtryDtls/TxDtls[{n}]") for n, tx in enumerate(txs, 1)]
    split = len(txs) > 1 and all(a is not None for a in amounts)
    refs = [_text(tx, "Refs/AcctSvcrRef") for tx in txs]
    # Some banks repeat one reference on every transaction of a batch: then it is numbered.
    numbered = split and (not all(refs) or len(set(refs)) < len(refs))
    for n, tx in enumerate(txs if split else txs[:1], 1):
        tx_place = f"{place}/NtryDtls/TxDtls[{n}]"
        if split:
            tx_amount, tx_currency = amounts[n - 1]
            tx_currency = tx_currency or currency
            # A debit entry holds only debits; a credit batch may hold a debit (a return).
            tx_indicator = "DBIT" if indicator == "DBIT" else (_text(tx, "CdtDbtInd").upper() or indicator)
        else:
            tx_amount, tx_currency, tx_indicator = amount, currency, indicator
        name, iban = _party(tx, "Dbtr")
        if not name:
            name = _party(tx, "UltmtDbtr")[0]
        remittance, structured = _remittance(tx)
        if not remittance and not structured:
            remittance = _text(tx, "AddtlTxInf") or _text(entry, "AddtlNtryInf")
        ref = refs[n - 1] or entry_ref
        if ref and numbered:
            ref = f"{ref}/{n}"
        yield BankLine(
            kind=_kind(entry, tx, tx_indicator), amount=tx_amount, currency=tx_currency,
            booking_date=booking_date, value_date=valued, account=account, bank_ref=ref,
            end_to_end_id=_end_to_end(tx), tx_id=_text(tx, "Refs/TxId"), remittance=remittance,
            structured_ref=structured, payer_name=name[:200], payer_iban=iban[:34], place=tx_place, statement=statement,
        )


def _end_to_end(tx) -> str:
    value = _text(tx, "Refs/EndToEndId")
    return "" if value.upper() == "NOTPROVIDED" else value
