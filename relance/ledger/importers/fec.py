"""Reading a FEC (Fichier des Écritures Comptables, LPF art. A47 A-1) into the receivables it holds.

A FEC is the whole general ledger; Relance keeps the customer accounts (CompteNum starting with
`411`, configurable). The auxiliary account (CompAuxNum/CompAuxLib) is the customer, else the
account itself. Each customer's lines of one entry (journal, EcritureNum, EcritureDate, PieceRef)
make one piece:
- a debit in a sales journal is an invoice (number PieceRef, amount the sum of the debits);
- a credit in a sales journal is a credit note (an "avoir");
- a credit in any other journal (bank, cash, miscellaneous) is a payment;
- a debit in another journal (a refund, a rejected cheque) is counted and left out.
A sales journal is one named by `journals`, else one whose customer lines are mostly debits
(at least as many debit lines as credit lines).
Lines sharing a lettering code (EcritureLet) on one customer settle each other: `plan_lettering`
applies that group's credit notes, then payments, to its invoices, oldest first; a partial or
unbalanced group (lowercase codes are partial lettering) settles what it can, and unlettered
credits stay unallocated for matching later.

The file is streamed once; only the customer lines are kept, grouped into pieces. Every line is
checked (dates, amounts, account); any problem refuses the whole file (`file:line: field: message`).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import pgettext

from relance.accounts.models import Organisation
from relance.audit import log as audit_log
from relance.ledger import totals
from relance.ledger.importers.fec_write import write_ledger
from relance.ledger.importers.fields import CONTROL, MAX_AMOUNT, normalise_label, parse_money
from relance.ledger.importers.result import FieldError, ImportResult, RefusedFile
from relance.ledger.importers.tabular import EncodingProblem, open_table
from relance.ledger.models import ImportBatch
from relance.lib.bulk import closing_copies
from relance.lib.db import big_cache
from relance.lib.money import ZERO

REQUIRED = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
            "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
            "ValidDate", "Montantdevise", "Idevise")
# The variant of the decree's annex: one signed column and its direction instead of Debit and Credit.
SIGNED = ("Montant", "Sens")
OPTIONAL = ("EcheanceDate",)
DEFAULT_CUSTOMER_PREFIX = "411"
TAX_PREFIX = "4457"  # TVA collectée: the tax of a sales entry
_MAX_LINE = 1 << 16
# An amount as FEC exports write it (zero-padded by some): "0,00", "1234.56", "0000000069,60".
_PLAIN_AMOUNT = re.compile(r"0*([0-9]{1,12}(?:[.,][0-9]{1,2})?)|")
_DEBIT_SENSE = {"d", "debit", "+1", "1"}
_CREDIT_SENSE = {"c", "credit", "-1"}


def is_fec(path: str | Path) -> bool:
    """Whether the file's first line is a FEC header (JournalCode, EcritureNum, CompteNum… by tab or |)."""
    try:
        with Path(path).open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    first = head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("latin-1")
    for sep in ("\t", "|"):
        names = {normalise_label(n) for n in first.split(sep)}
        if {"journalcode", "ecriturenum", "ecrituredate", "comptenum", "pieceref"} <= names:
            return True
    return False


def import_fec(org: Organisation, path: str | Path, result: ImportResult, *, dry_run: bool = False,
               options: dict | None = None) -> set[int]:
    """Import a FEC into `org`'s ledger, all or nothing; the ids of the invoices whose balance may have changed.

    options: `prefix` of the customer accounts (411), `journals` (the sales journals' codes, a set).
    """
    options = options or {}
    ledger, sha256 = read_fec(path, result, prefix=options.get("prefix") or DEFAULT_CUSTOMER_PREFIX,
                              journals=options.get("journals"))
    if ledger is None:
        return set()
    # The ledger's running totals are rebuilt once at the end, not followed write by write: the lettering
    # settles invoices this import creates, which the totals would see leave before they came in.
    with big_cache(64), transaction.atomic(), closing_copies(), totals.suspended():
        batch = ImportBatch.objects.create(organisation=org, kind="fec", filename=Path(path).name[:500],
                                           sha256=sha256)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # as the CSV importers: checked as rows arrive
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        plan = plan_lettering(ledger.invoices, ledger.credit_notes, ledger.payments)
        touched = write_ledger(org, batch, ledger, plan, result)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        if not result.ok:
            result.created = result.updated = result.unchanged = 0
            result.extra.clear()
        if result.ok and not dry_run:
            batch.created, batch.updated, batch.unchanged = result.created, result.updated, result.unchanged
            batch.finished_at = timezone.now()
            batch.save(update_fields=["created", "updated", "unchanged", "finished_at"])
            audit_log.record("import.batch", batch)
            result.batch_id = batch.pk
            totals.after_import(org, batch.pk, large=True)
            return touched
        transaction.set_rollback(True)
    return set()


@dataclass
class Piece:
    """One customer's lines of one entry, on one side (debit: invoice; credit: credit note or payment)."""

    journal: str
    entry: str
    date: date
    ref: str
    customer: str
    debit: bool
    line: int  # its first line in the file
    piece_date: date | None = None
    due: date | None = None
    label: str = ""
    amount: Decimal = ZERO
    letters: dict[str, Decimal] = field(default_factory=dict)  # lettering code -> amount lettered

    @cached_property
    def key(self) -> str:
        """A stable identifier of the piece, the same in every FEC holding it (for re-imports)."""
        text = "\x1f".join((self.journal, self.entry, self.date.isoformat(), self.ref, self.customer))
        return "FEC-" + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class FecLedger:
    """What a FEC says of the customer accounts."""

    invoices: list[Piece]
    credit_notes: list[Piece]
    payments: list[Piece]
    customers: dict[str, str]  # code -> name
    tax: dict[int, Decimal]  # id() of an invoice piece -> its tax
    numbers: dict[int, str]  # id() of an invoice or credit-note piece -> its number
    ignored: int = 0  # customer debits outside the sales journals


class _Columns:
    """Where each field is in a line, from the header; names every missing column."""

    def __init__(self, header: list[str], result: ImportResult):
        names = [h.strip() for h in header]
        while names and not names[-1]:
            names.pop()  # a trailing separator on every line
        self.width = len(names)
        index = {normalise_label(n): i for i, n in reversed(list(enumerate(names)))}
        self.name = {}
        self.at = {}
        wanted = list(REQUIRED)
        signed = all(normalise_label(n) in index for n in SIGNED) and not any(
            normalise_label(n) in index for n in ("Debit", "Credit"))
        if signed:
            wanted = [n for n in wanted if n not in ("Debit", "Credit")] + list(SIGNED)
        missing = [n for n in wanted if normalise_label(n) not in index]
        if missing:
            message = pgettext("import", "required FEC columns missing: %(columns)s") % {"columns": ", ".join(missing)}
            result.add_error(1, pgettext("import", "(header)"), message)
        for n in (*wanted, *OPTIONAL):
            i = index.get(normalise_label(n))
            if i is not None:
                self.at[n], self.name[n] = i, names[i]
        self.signed = signed
        self.ok = not missing


def read_fec(path: str | Path, result: ImportResult, *, prefix: str = DEFAULT_CUSTOMER_PREFIX,
             journals: set[str] | None = None) -> tuple[FecLedger | None, str]:
    """Read and check the whole file; (the ledger, the file's SHA-256), or (None, sha) when refused."""
    table = open_table(path)
    try:
        if table.format != "csv":
            raise RefusedFile(pgettext("import", "a FEC is a text file (tab or « | »), not a workbook"))
        if isinstance(table.header, EncodingProblem):
            raise RefusedFile(pgettext("import", "unreadable encoding (%(error)s)") % {"error": table.header.message},
                              line=1)
        if not table.header:
            raise RefusedFile(pgettext("import", "empty file"))
        if table.delimiter not in ("\t", "|"):
            raise RefusedFile(pgettext("import", "a FEC separates its columns with tabs or « | »"), line=1)
        encoding, delimiter, sha256 = table.encoding, table.delimiter, table.sha256
    finally:
        table.close()
    if encoding in ("cp1252", "latin-1") and _is_iso_8859_15(Path(path)):
        encoding = "iso8859-15"
    line = 1
    try:
        with Path(path).open("r", encoding=encoding, newline="\n") as text:
            header = _read_line(text, 1).rstrip("\r\n")
            columns = _Columns(header.split(delimiter), result)
            if not columns.ok:
                return None, sha256
            reader = _Reader(columns, result, prefix)
            while raw := _read_line(text, line + 1):
                line += 1
                cells = raw.rstrip("\r\n").split(delimiter)
                if len(cells) > 1 or cells[0].strip():
                    reader.read(line, cells)
    except UnicodeDecodeError as exc:  # only when the detection was fooled (UTF-16 with a broken pair)
        raise RefusedFile(pgettext("import", "unreadable encoding (%(error)s)") % {"error": exc.reason}, line=line + 1)
    if not result.ok:
        return None, sha256
    return reader.ledger(journals), sha256


# ISO-8859-15 (Latin-9) differs from cp1252 and Latin-1 in eight bytes: € Š š Ž ž Œ œ Ÿ, which cp1252
# reads ¤ ¦ ¨ ´ ¸ ¼ ½ ¾ and writes elsewhere (0x80-0x9F). A file with some of those eight and none of
# cp1252's own letters is Latin-9: "C½ur" and "10 ¤" are no one's accounts.
_LATIN9_ONLY = re.compile(b"[\xa4\xa6\xa8\xb4\xb8\xbc-\xbe]")
_CP1252_ONLY = re.compile(b"[\x80-\x9f]")


def _is_iso_8859_15(path: Path) -> bool:
    latin9 = False
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            if _CP1252_ONLY.search(chunk):
                return False
            latin9 = latin9 or _LATIN9_ONLY.search(chunk) is not None
    return latin9


def _read_line(text, line: int) -> str:
    raw = text.readline(_MAX_LINE)
    if len(raw) == _MAX_LINE and not raw.endswith("\n"):
        raise RefusedFile(pgettext("import", "line of more than %(max)s characters") % {"max": _MAX_LINE}, line=line)
    return raw


class _Reader:
    """Checks every line; keeps the customer lines, grouped into pieces, and the sales entries' tax."""

    def __init__(self, columns: _Columns, result: ImportResult, prefix: str):
        self.c, self.result, self.prefix = columns, result, prefix
        self.dates: dict[str, date | str] = {}  # text -> date, or the problem with it
        self.pieces: dict[tuple, Piece] = {}
        self.customers: dict[str, str] = {}
        self.sides: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # journal -> [debit lines, credit lines]
        self.entry_tax: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
        at = columns.at
        self.i_journal, self.i_account, self.i_date = at["JournalCode"], at["CompteNum"], at["EcritureDate"]
        self.i_entry, self.i_ref = at["EcritureNum"], at["PieceRef"]
        self.i_amounts = [at[n] for n in (SIGNED[:1] if columns.signed else ("Debit", "Credit"))]

    def _error(self, line: int, name: str, message: str) -> None:
        self.result.add_error(line, self.c.name.get(name, name), message)

    def _date(self, line: int, name: str, raw: str, required: bool = True) -> date | None:
        text = raw.strip()
        if not text:
            if required:
                self._error(line, name, pgettext("import", "date required"))
            return None
        parsed = self.dates.get(raw)
        if parsed is None:
            parsed = self.dates[raw] = _parse_date(text)
        if isinstance(parsed, str):
            self._error(line, name, parsed)
            return None
        return parsed

    def _amount(self, line: int, name: str, text: str) -> Decimal | None:
        text = text.strip()
        if not text:
            return ZERO
        if m := _PLAIN_AMOUNT.fullmatch(text):  # the common case, fast: "1234,56", "0000000069,60"
            return Decimal(m[1].replace(",", "."))
        try:
            amount = parse_money(text)
        except FieldError as exc:
            self._error(line, name, str(exc))
            return None
        if amount < 0:
            self._error(line, name, pgettext("import", "negative amount: %(value)s (a FEC holds positive amounts)")
                        % {"value": repr(text)})
            return None
        return amount

    def _net(self, line: int, cells: list[str]) -> Decimal | None:
        """Debit minus credit of the line."""
        at = self.c.at
        if not self.c.signed:
            debit = self._amount(line, "Debit", cells[at["Debit"]])
            credit = self._amount(line, "Credit", cells[at["Credit"]])
            return None if debit is None or credit is None else debit - credit
        amount = self._amount(line, "Montant", cells[at["Montant"]])
        sense = normalise_label(cells[at["Sens"]]) or cells[at["Sens"]].strip()
        if sense in _DEBIT_SENSE:
            return amount
        if sense in _CREDIT_SENSE:
            return None if amount is None else -amount
        self._error(line, "Sens", pgettext("import", "invalid direction (D or C expected): %(value)s")
                    % {"value": repr(cells[at["Sens"]].strip())})
        return None

    def read(self, line: int, cells: list[str]) -> None:
        c = self.c
        if len(cells) != c.width and (len(cells) < c.width or any(x.strip() for x in cells[c.width:])):
            message = pgettext("import", "%(cells)s columns for %(width)s headers") % {"cells": len(cells),
                                                                                       "width": c.width}
            self.result.add_error(line, pgettext("import", "(line)"), message)
            return
        journal, account = cells[self.i_journal].strip(), cells[self.i_account].strip()
        if not journal:
            self._error(line, "JournalCode", pgettext("import", "journal code required"))
        if not account:
            self._error(line, "CompteNum", pgettext("import", "account number required"))
        entry_date = self.dates.get(cells[self.i_date])
        if entry_date is None or entry_date.__class__ is str:
            entry_date = self._date(line, "EcritureDate", cells[self.i_date])
        customer = account.startswith(self.prefix)
        if not customer and not account.startswith(TAX_PREFIX):
            # Only checked: amounts well written (the fast look first), the direction known.
            for i in self.i_amounts:
                if not _PLAIN_AMOUNT.fullmatch(cells[i].strip()):
                    self._net(line, cells)
                    break
            else:
                if c.signed:
                    self._net(line, cells)
            return
        net = self._net(line, cells)
        if net is None or entry_date is None or not journal or not account:
            return
        entry, ref = cells[self.i_entry].strip(), " ".join(cells[self.i_ref].split())
        if not customer:
            self.entry_tax[(journal, entry, entry_date, ref)] -= net
        elif net:
            self._customer_line(line, cells, journal, entry, entry_date, ref, account, net)

    def _customer_line(self, line, cells, journal, entry, entry_date, ref, account, net) -> None:
        at = self.c.at
        code = cells[at["CompAuxNum"]].strip()
        name = " ".join(cells[at["CompAuxLib"]].split()) if code else ""
        if not code:
            code, name = account, " ".join(cells[at["CompteLib"]].split())
        field_name = "CompAuxNum" if cells[at["CompAuxNum"]].strip() else "CompteNum"
        problems = []
        if len(code) > 64:
            problems.append((field_name, pgettext(
                "import", "customer code too long (%(length)s characters, at most 64)") % {"length": len(code)}))
        if not ref:
            problems.append(("PieceRef", pgettext("import", "document reference required on a customer account")))
        elif len(ref) > 64:
            problems.append(("PieceRef", pgettext("import", "reference too long (%(length)s characters, at most 64)")
                             % {"length": len(ref)}))
        label = " ".join(cells[at["EcritureLib"]].split())
        for name_, value in (("CompAuxLib" if field_name == "CompAuxNum" else "CompteLib", name), ("PieceRef", ref),
                             (field_name, code), ("EcritureLib", label)):
            if CONTROL.search(value):
                problems.append((name_, pgettext("import", "control character not allowed")))
        piece_date = self._date(line, "PieceDate", cells[at["PieceDate"]], required=False)
        due = self._date(line, "EcheanceDate", cells[at["EcheanceDate"]], required=False) \
            if "EcheanceDate" in at else None
        for name_, message in problems:
            self._error(line, name_, message)
        if problems or not self.result.ok:
            return  # a refused file: only the checks go on
        self.customers.setdefault(code, name[:200] or code)
        debit = net > 0
        self.sides[journal][0 if debit else 1] += 1
        key = (journal, entry, entry_date, ref, code, debit)
        piece = self.pieces.get(key)
        if piece is None:
            piece = self.pieces[key] = Piece(journal, entry, entry_date, ref, code, debit, line,
                                             piece_date=piece_date, due=due, label=label[:200])
        amount = abs(net)
        piece.amount += amount
        if piece.amount >= MAX_AMOUNT:
            self._error(line, "Debit" if debit else "Credit", pgettext("import", "document too large (%(amount)s)")
                        % {"amount": piece.amount})
        if due is not None and (piece.due is None or due < piece.due):
            piece.due = due
        letter = cells[at["EcritureLet"]].strip()
        if letter:
            piece.letters[letter] = piece.letters.get(letter, ZERO) + amount

    def ledger(self, journals: set[str] | None) -> FecLedger:
        if journals is None:
            journals = {j for j, (debits, credits) in self.sides.items() if debits >= credits}
        invoices, credit_notes, payments, ignored = [], [], [], 0
        for piece in self.pieces.values():
            if piece.journal in journals:
                (invoices if piece.debit else credit_notes).append(piece)
            elif piece.debit:
                ignored += 1
            else:
                payments.append(piece)
        per_entry: dict[tuple, list[Piece]] = defaultdict(list)
        for piece in invoices:
            per_entry[(piece.journal, piece.entry, piece.date, piece.ref)].append(piece)
        tax = {}
        for entry, pieces in per_entry.items():
            amount = self.entry_tax.get(entry, ZERO)
            # The entry's tax belongs to its invoice when it has only one customer.
            if len(pieces) == 1 and ZERO < amount <= pieces[0].amount:
                tax[id(pieces[0])] = amount
        numbers = {**_numbers(invoices), **_numbers(credit_notes)}
        return FecLedger(invoices, credit_notes, payments, self.customers, tax, numbers, ignored)


def _parse_date(text: str) -> date | str:
    """A FEC date, AAAAMMJJ; the problem as text when it is not one."""
    if len(text) != 8 or not text.isdigit() or not text.isascii():
        return pgettext("import", "invalid date (YYYYMMDD expected): %(value)s") % {"value": repr(text[:40])}
    try:
        parsed = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return pgettext("import", "no such date: %(value)s") % {"value": repr(text)}
    if not 1900 <= parsed.year <= 2200:
        return pgettext("import", "date out of range: %(value)s") % {"value": repr(text)}
    return parsed


def _numbers(pieces: list[Piece]) -> dict[int, str]:
    """Each piece's number: its PieceRef, made longer only as far as needed to tell apart the pieces sharing it.

    Some ledgers give one PieceRef to a month of sales ("VE 0123") or to every opening balance
    ("RAN"): then the entry number, the date and the customer are added, in that order.
    """
    by_ref: dict[str, list[Piece]] = defaultdict(list)
    for piece in pieces:
        by_ref[piece.ref].append(piece)
    numbers = {}
    for group in by_ref.values():
        for level in range(5):
            names = [_number(level, p) for p in group]
            if len(set(names)) == len(names):
                break
        numbers.update((id(p), name) for p, name in zip(group, names, strict=True))
    # A name made longer may meet another PieceRef ("A" of entry 1 and a PieceRef "A/1"), or be too
    # long: those take the PieceRef and the piece's own key instead.
    seen: dict[str, int] = defaultdict(int)
    for name in numbers.values():
        seen[name] += 1
    for piece in pieces:
        name = numbers[id(piece)]
        if seen[name] > 1 or len(name) > 64:
            numbers[id(piece)] = f"{piece.ref[:43]}~{piece.key[4:24]}"
    return numbers


def _number(level: int, p: Piece) -> str:
    parts = (p.ref, p.entry, f"{p.date:%Y%m%d}", p.customer, p.journal)[:level + 1]
    return "/".join(parts)


def plan_lettering(invoices: list[Piece], credit_notes: list[Piece],
                   payments: list[Piece]) -> list[tuple[Piece, Piece, Decimal]]:
    """(credit note or payment, invoice, amount) for each settlement the lettering codes say. Pure.

    In each (customer, code) group the credit notes, then the payments, are applied to the
    invoices, each oldest first, up to what each still has; what a group leaves is left as it is.
    """
    debits: dict[tuple, list[list]] = defaultdict(list)
    for piece in invoices:
        for code, amount in piece.letters.items():
            debits[(piece.customer, code)].append([piece, amount])
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for rank, pieces in enumerate((credit_notes, payments)):
        for piece in pieces:
            for code, amount in piece.letters.items():
                groups[(piece.customer, code)].append((rank, piece.date, piece.line, piece, amount))
    plan = []
    for group, credit_lines in groups.items():
        owed = sorted(debits.get(group, []), key=lambda d: (d[0].date, d[0].line))
        credit_lines.sort(key=lambda c: c[:3])
        i = 0
        for *_, credit, left in credit_lines:
            while left > 0 and i < len(owed):
                take = min(left, owed[i][1])
                plan.append((credit, owed[i][0], take))
                left -= take
                owed[i][1] -= take
                if owed[i][1] <= 0:
                    i += 1
    return plan
