"""Bank statements (CAMT.053/054, OFX, MT940) imported as unallocated payments.

`import_statement()` reads the file with the reader of its format (detected from the content, or
given), keeps the credits that can be customers' payments, and writes each line not yet known as a
`Payment` (customer unknown, nothing allocated: reconciliation matches them to invoices later).
Every line has a stable key (`Payment.bank_transaction_id`, see lines.KeyMaker): importing the
same statement twice, or overlapping ones, adds only the lines not yet stored.

One pass, one transaction: lines are written by chunks while the file is read, and anything
unreadable rolls the whole import back, so a refused file leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import npgettext, pgettext

from relance.accounts.models import Organisation
from relance.audit import log as audit_log
from relance.ledger.importers.result import ImportUsageError
from relance.ledger.importers.statements.camt import is_camt, read_camt
from relance.ledger.importers.statements.lines import (
    CREDIT,
    DEBIT,
    NOT_BOOKED,
    NOT_PAYMENT,
    REVERSAL,
    BankLine,
    KeyMaker,
    StatementError,
)
from relance.ledger.importers.statements.mt940 import is_mt940, read_mt940
from relance.ledger.importers.statements.ofx import is_ofx, read_ofx
from relance.ledger.models import ImportBatch, Payment, PaymentMethod
from relance.lib.bulk import BulkInsert, closing_copies

__all__ = ["FORMATS", "BankLine", "StatementError", "StatementResult", "detect_format", "import_statement",
           "is_statement", "read_lines"]

KIND = "statement"  # ImportBatch.kind
Reader = Callable[[BinaryIO], Iterator[BankLine]]
FORMATS: dict[str, Reader] = {"camt": read_camt, "ofx": read_ofx, "mt940": read_mt940}
CHUNK = 900  # keys looked up at once (SQLite allows 999 parameters on old builds)
_HEAD = 4096


@dataclass
class StatementResult:
    filename: str
    format: str = ""
    lines: int = 0  # lines read (entries, or each transaction of a batch entry)
    created: int = 0  # credits imported as payments
    duplicates: int = 0  # credits already imported (same key)
    debits: int = 0
    reversals: int = 0
    not_payments: int = 0  # credits that are no customer's payment (interest, own transfer...)
    not_booked: int = 0
    errors: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # the errors as (place, message)
    dry_run: bool = False
    batch_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        return {"lines": self.lines, "created": self.created, "duplicates": self.duplicates, "debits": self.debits,
                "reversals": self.reversals, "not_payments": self.not_payments, "not_booked": self.not_booked}

    def summary(self) -> str:
        """The report printed after an import."""
        verb = pgettext("import", "dry run (nothing was written)") if self.dry_run else pgettext("import", "imported")
        counts = [
            (self.lines, npgettext("import", "%(count)s line read", "%(count)s lines read", self.lines)),
            (self.created, npgettext("import", "%(count)s credit imported", "%(count)s credits imported",
                                     self.created)),
            (self.duplicates, npgettext("import", "%(count)s duplicate ignored", "%(count)s duplicates ignored",
                                        self.duplicates)),
            (self.debits, npgettext("import", "%(count)s debit ignored", "%(count)s debits ignored", self.debits)),
        ]
        # The rarer ones only when they happened.
        counts += [(n, label) for n, label in (
            (self.reversals, npgettext("import", "%(count)s reversal ignored", "%(count)s reversals ignored",
                                       self.reversals)),
            (self.not_payments, npgettext(
                "import", "%(count)s credit other than a customer's payment ignored (interest, internal transfer)",
                "%(count)s credits other than customers' payments ignored (interest, internal transfers)",
                self.not_payments)),
            (self.not_booked, npgettext("import", "%(count)s unbooked line ignored", "%(count)s unbooked lines ignored",
                                        self.not_booked)),
        ) if n]
        return pgettext("import", "%(file)s: %(verb)s (%(format)s): %(counts)s") % {
            "file": self.filename, "verb": verb, "format": self.format,
            "counts": ", ".join(label % {"count": n} for n, label in counts)}


def detect_format(path: str | Path) -> str | None:
    """camt, ofx or mt940 from the start of the file (a ZIP of CAMT files is camt); None for anything else."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None  # opening a FIFO would block; /dev/zero never ends
        with open(path, "rb") as f:
            head = f.read(_HEAD)
            if head.startswith(b"PK\x03\x04"):
                return _zip_format(f)
    except OSError:
        return None
    return _format_of(head)


def _zip_format(f: BinaryIO) -> str | None:
    """A ZIP of statements is camt (banks send CAMT files by the day in one archive); an XLSX is no statement."""
    try:
        names = zipfile.ZipFile(f).namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    return None if "[Content_Types].xml" in names or any(n.startswith("xl/") for n in names) else "camt"


def _format_of(head: bytes) -> str | None:
    if is_camt(head):
        return "camt"
    if is_ofx(head):
        return "ofx"
    if is_mt940(head):
        return "mt940"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<") and b"<Document" in head:
        return "camt"  # an XML document of another namespace: the CAMT reader says which
    return None


def is_statement(path: str | Path) -> bool:
    """Whether a file given to `import payments` is a bank statement rather than a CSV/XLSX table."""
    return detect_format(path) is not None


def read_lines(path: str | Path, fmt: str | None = None) -> Iterator[BankLine]:
    """Every line of a statement file, with its format's reader; StatementError on anything unreadable."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise StatementError(pgettext("import", "statement format not recognised (CAMT.053/054, OFX or MT940 "
                                      "expected)"))
    with ExitStack() as stack:
        f = stack.enter_context(path.open("rb"))
        if f.read(4) == b"PK\x03\x04":
            if fmt != "camt":
                raise StatementError(pgettext("import", "ZIP archive: only CAMT statements are read in it, not "
                                              "%(format)s") % {"format": fmt})
            yield from map(_own_transfer, _zip_lines(stack, f))
            return
        f.seek(0)
        yield from map(_own_transfer, FORMATS[fmt](f))


def _own_transfer(line: BankLine) -> BankLine:
    """A credit from the statement's own account is a transfer between our accounts, no customer's payment."""
    if line.kind == CREDIT and line.payer_iban and line.payer_iban == line.account.replace(" ", "").upper():
        line.kind = NOT_PAYMENT
    return line


def _zip_lines(stack: ExitStack, f: BinaryIO) -> Iterator[BankLine]:
    """The CAMT files of a ZIP archive, in name order; the unpacked total is held to the size limit."""
    try:
        archive = stack.enter_context(zipfile.ZipFile(f))
        members = sorted((i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise StatementError(pgettext("import", "unreadable ZIP archive (%(error)s)") % {"error": exc})
    limit = settings.RELANCE_IMPORT_MAX_BYTES
    if sum(i.file_size for i in members) > limit:
        raise StatementError(pgettext("import", "ZIP archive too big once unzipped (at most %(limit)s bytes: "
                                      "RELANCE_IMPORT_MAX_BYTES)") % {"limit": limit})
    for info in members:
        try:
            with archive.open(info) as member:
                for line in read_camt(member):
                    line.place = f"{info.filename}: {line.place}"
                    yield line
        except StatementError as exc:
            raise StatementError(exc.message, f"{info.filename}: {exc.place}" if exc.place else info.filename)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise StatementError(pgettext("import", "unreadable archive member (%(error)s)") % {"error": exc},
                                 info.filename)


def import_statement(org: Organisation, path: str | Path, *, fmt: str | None = None,
                     dry_run: bool = False) -> StatementResult:
    """Import a bank statement file into `org`'s payments (unallocated, customer unknown).

    ImportUsageError when the file cannot be opened or `fmt` is unknown; a refused file (not a
    statement, malformed, truncated, a DTD, too big) comes back with `result.errors`, nothing written.
    """
    path = Path(path)
    if fmt is not None and fmt not in FORMATS:
        raise ImportUsageError(pgettext("import", "unknown statement format: %(format)s (%(known)s)")
                               % {"format": fmt, "known": ", ".join(FORMATS)})
    result = StatementResult(filename=str(path), dry_run=dry_run)
    try:
        info = path.stat()
    except OSError as exc:
        raise ImportUsageError(pgettext("import", "%(path)s: unreadable file (%(reason)s)")
                               % {"path": path, "reason": exc.strerror or exc})
    if not stat.S_ISREG(info.st_mode):
        return _refuse(result, pgettext("import", "not a regular file (device, pipe or folder): refused"))
    limit = settings.RELANCE_IMPORT_MAX_BYTES
    if info.st_size > limit:
        return _refuse(result, pgettext("import", "file too big (%(size)s bytes, at most %(limit)s: "
                                        "RELANCE_IMPORT_MAX_BYTES)") % {"size": info.st_size, "limit": limit})
    result.format = fmt or detect_format(path) or ""
    if not result.format:
        return _refuse(result, pgettext("import", "statement format not recognised (CAMT.053/054, OFX or MT940 "
                                        "expected)"))
    try:
        with transaction.atomic(), closing_copies():
            batch = ImportBatch.objects.create(organisation=org, kind=KIND, filename=path.name[:500],
                                               sha256=_sha256(path))
            _Writer(org, batch, result).run(read_lines(path, result.format))
            if dry_run:
                transaction.set_rollback(True)
            else:
                batch.created, batch.unchanged = result.created, result.duplicates
                batch.finished_at = timezone.now()
                batch.save(update_fields=["created", "unchanged", "finished_at"])
                audit_log.record("import.batch", batch)
                result.batch_id = batch.pk
    except StatementError as exc:
        return _refuse(result, exc.message, exc.place)
    except (DataError, IntegrityError) as exc:
        return _refuse(result, pgettext("import", "value refused by the database (%(error)s)")
                       % {"error": " ".join(str(exc).split())[:200]})
    return result


def _refuse(result: StatementResult, message: str, place: str = "") -> StatementResult:
    result.errors.append(f"{result.filename}: {place}: {message}" if place else f"{result.filename}: {message}")
    result.problems.append((place, message))
    result.created = result.duplicates = 0
    result.batch_id = None
    return result


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Writer:
    """Counts the lines and writes the new credits, a chunk at a time."""

    def __init__(self, org: Organisation, batch: ImportBatch, result: StatementResult):
        self.org, self.batch, self.result = org, batch, result
        self.keys = KeyMaker()
        self.seen: set[str] = set()  # keys of this file: a line given twice is one payment
        self.inserter = BulkInsert(Payment, (
            "organisation", "customer", "date", "amount", "currency", "method", "reference", "payer_name",
            "payer_iban", "bank_transaction_id", "source_import"))

    def run(self, lines: Iterator[BankLine]) -> None:
        counters = {DEBIT: "debits", REVERSAL: "reversals", NOT_PAYMENT: "not_payments", NOT_BOOKED: "not_booked"}
        chunk: list[tuple[str, BankLine]] = []
        for line in lines:
            self.result.lines += 1
            key = self.keys.key(line)  # every line counts in the occurrences, whatever its kind
            if line.kind != CREDIT:
                name = counters[line.kind]
                setattr(self.result, name, getattr(self.result, name) + 1)
                continue
            chunk.append((key, line))
            if len(chunk) >= CHUNK:
                self._write(chunk)
                chunk = []
        self._write(chunk)

    def _write(self, chunk: list[tuple[str, BankLine]]) -> None:
        if not chunk:
            return
        keys = [key for key, _ in chunk]
        stored = set(Payment.objects.filter(organisation=self.org, bank_transaction_id__in=keys)
                     .values_list("bank_transaction_id", flat=True))
        org_id, batch_id, method = self.org.pk, self.batch.pk, PaymentMethod.TRANSFER.value
        rows = []
        for key, line in chunk:
            if key in stored or key in self.seen:
                self.result.duplicates += 1
                continue
            self.seen.add(key)
            rows.append((org_id, None, line.booking_date, line.amount, line.currency, method, line.reference,
                         line.payer_name, line.payer_iban, key, batch_id))
        self.inserter.insert(rows)
        self.result.created += len(rows)
