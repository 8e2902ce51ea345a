"""Importers of ledger files. `import_file()` reads a CSV/XLSX file of customers, invoices or payments,
or a whole-file format (FORMATS: a FEC) through that format's own module.

Bad input never ends in a traceback: a cell, a row or the whole file (not a regular file, too big,
corrupt, mixed encodings: RefusedFile) is refused with `file:line: field: message`.

One pass, one transaction: each chunk of rows is validated (cells, then against the file so far
and the database) and written while no problem has been found; after the first problem the rest
is only validated. Any problem, or a dry run, rolls the whole transaction back, so a refused
file leaves nothing behind and the counts of a dry run are those of a real run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.db import DataError, connection, transaction
from django.utils import timezone
from django.utils.translation import pgettext

from relance.accounts.models import Organisation
from relance.audit import log as audit_log
from relance.ledger import totals
from relance.ledger.importers import fec
from relance.ledger.importers.columns import plan_of, read_row, resolve
from relance.ledger.importers.credit_notes import CreditNoteImporter
from relance.ledger.importers.customers import CustomerImporter
from relance.ledger.importers.invoices import InvoiceImporter
from relance.ledger.importers.payments import PaymentImporter
from relance.ledger.importers.result import FieldError, ImportResult, ImportUsageError, Problem, RefusedFile
from relance.ledger.importers.tabular import EncodingProblem, Table, open_table
from relance.ledger.models import Allocation, Customer, ImportBatch, Invoice
from relance.ledger.signals import ledger_changed
from relance.lib.bulk import closing_copies
from relance.lib.db import big_cache, refresh_statistics

# After an import this large, the query planner's statistics are refreshed (SQLite has none until
# ANALYZE: without them the pages' aggregates walk the wrong index, about ten times slower).
BIG_IMPORT_ROWS = 10_000
BIG_IMPORT_BYTES = 2_000_000

KINDS = {"customers": CustomerImporter, "invoices": InvoiceImporter, "payments": PaymentImporter,
         "credit-notes": CreditNoteImporter}
# Whole-file formats, each read by its own module: kind -> (detect(path) -> bool, run(org, path,
# result, dry_run=, options=) -> ids of the invoices whose balance may have changed). `relance import
# FILE` without a kind takes the first whose detect() says yes. One line per format.
FORMATS = {
    "fec": (fec.is_fec, fec.import_fec),
}
CHUNK_ROWS = 2000

Progress = Callable[[int, int], None]

__all__ = ["FORMATS", "KINDS", "FieldError", "ImportResult", "ImportUsageError", "Problem", "detect_kind",
           "import_file"]


def detect_kind(path: str | Path) -> str | None:
    """The whole-file format the file is written in (FORMATS), or None."""
    for kind, (detect, _) in FORMATS.items():
        if detect(path):
            return kind
    return None


def import_file(
    org: Organisation,
    kind: str,
    path: str | Path,
    *,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    options: dict | None = None,
) -> ImportResult:
    """Import a CSV/XLSX file of `kind` (customers, invoices, payments) into `org`'s ledger.

    `mapping` maps a column of the file to a field (or to a known header). `progress` is called
    with (done, total) now and then. Raises ImportUsageError when the import cannot start (unknown
    kind, unreadable file, --map naming an unknown field); refused input is in `result.errors`.
    `options` go to a whole-file format's importer (FORMATS).
    """
    if kind in FORMATS:
        return _import_format(org, kind, Path(path), dry_run, options)
    if kind not in KINDS:
        known = ", ".join([*KINDS, *FORMATS])
        raise ImportUsageError(pgettext("import", "unknown kind of import: %(kind)s (%(known)s)")
                               % {"kind": kind, "known": known})
    importer_class = KINDS[kind]
    path = Path(path)
    result = ImportResult(kind=kind, filename=str(path), dry_run=dry_run)
    try:
        with open_table(path) as table:
            _import_table(org, kind, importer_class, table, result, mapping, dry_run, progress)
    except RefusedFile as exc:
        _refuse(result, exc.line, exc.message)
    except DataError as exc:
        # The cells are checked against every column before writing; this is the last guard, and
        # the transaction is rolled back all the same.
        _refuse(result, 0, _database_refusal(exc))
    if result.ok and not dry_run:
        if result.created + result.updated >= BIG_IMPORT_ROWS:
            refresh_statistics()
        _announce(org, kind, result.batch_id)
    return result


def _import_format(org: Organisation, kind: str, path: Path, dry_run: bool, options: dict | None) -> ImportResult:
    result = ImportResult(kind=kind, filename=str(path), dry_run=dry_run)
    touched: set[int] = set()
    try:
        touched = FORMATS[kind][1](org, path, result, dry_run=dry_run, options=options)
    except RefusedFile as exc:
        _refuse(result, exc.line, exc.message)
    except DataError as exc:
        _refuse(result, 0, _database_refusal(exc))
    if result.ok and not dry_run:
        if result.created + result.updated >= BIG_IMPORT_ROWS:
            refresh_statistics()
        # Customers under proceedings whose invoices just arrived: their claims to declare are now known.
        insolvent = Customer.objects.filter(organisation=org, in_insolvency=True,
                                            invoices__source_import_id=result.batch_id)
        ledger_changed.send(sender=import_file, organisation=org, invoice_ids=sorted(touched),
                            insolvent_customer_ids=list(insolvent.distinct().values_list("pk", flat=True)))
    return result


def _import_table(org, kind, importer_class, table: Table, result: ImportResult, mapping, dry_run: bool,
                  progress: Progress | None) -> None:
    """Resolve the header, then read, check and write every row in one transaction."""
    if isinstance(table.header, EncodingProblem) or not table.header:
        empty = pgettext("import", "empty file")
        message = table.header.message if isinstance(table.header, EncodingProblem) else empty
        result.add_error(1, pgettext("import", "(header)"), message)
        return
    slots, problems = resolve(table.header, importer_class.columns, mapping)
    for field, message in problems:
        result.add_error(1, field, message)
    if problems:
        return
    # A 64 MB page cache on SQLite, not more: it counts in the import's memory (500 MB for 200 MB of CSV).
    # closing_copies: an error while an inserter holds a COPY open must not hang the rollback.
    # A large file: the ledger's running totals are rebuilt once at the end rather than followed row by row.
    big = table.size >= BIG_IMPORT_BYTES
    with big_cache(64), transaction.atomic(), closing_copies(), totals.suspended(big):
        batch = ImportBatch.objects.create(
            organisation=org, kind=kind, filename=table.path.name[:500], sha256=table.sha256
        )
        if connection.vendor == "postgresql":
            # Rows go in parent-first, so check foreign keys as rows arrive: a million deferred
            # checks queued for the commit cost more. Put back below for the caller's transaction.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        importer = importer_class(org, batch, result, slots)
        _read_rows(table, importer, result, plan_of(slots), progress)
        importer.finish()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys are initially deferred
        if progress is not None:
            progress(table.size, table.size)
        if not result.ok:
            result.errors.sort(key=lambda p: p.line)  # chunks report cell problems before the others
            result.created = result.updated = result.unchanged = 0
            result.extra.clear()
            result.warnings.clear()
        if result.ok and not dry_run:
            batch.created, batch.updated, batch.unchanged = result.created, result.updated, result.unchanged
            batch.finished_at = timezone.now()
            batch.save(update_fields=["created", "updated", "unchanged", "finished_at"])
            audit_log.record("import.batch", batch)
            result.batch_id = batch.pk
            totals.after_import(org, batch.pk, large=big)
        else:
            transaction.set_rollback(True)


def _read_rows(table: Table, importer, result: ImportResult, plan, progress: Progress | None) -> None:
    """Parse the rows and hand them to the importer by chunks; problems go to `result`."""
    width = len(table.header)
    whole_line = pgettext("import", "(line)")
    chunk: list[tuple[int, dict]] = []
    for line, cells in table.rows:
        if isinstance(cells, EncodingProblem):
            result.add_error(line, whole_line, cells.message)
            continue
        if len(cells) > width and any(str(c).strip() for c in cells[width:]):
            if table.delimiter:
                message = pgettext("import", "%(cells)s columns for %(width)s headers (separator « %(sep)s »)")
            else:
                message = pgettext("import", "%(cells)s columns for %(width)s headers")
            result.add_error(line, whole_line, message % {"cells": len(cells), "width": width, "sep": table.delimiter})
            continue
        values, problems = read_row(cells, plan)
        if problems:
            for field, message in problems:
                result.add_error(line, field, message)
            continue
        chunk.append((line, values))
        if len(chunk) >= CHUNK_ROWS:
            importer.process(chunk)
            chunk = []
            if progress is not None:
                progress(table.position(), table.size)
    if chunk:
        importer.process(chunk)


def _refuse(result: ImportResult, line: int, message: str) -> None:
    """The whole file is refused: nothing written, nothing counted."""
    result.add_error(line, pgettext("import", "(line)") if line else "", message)
    result.created = result.updated = result.unchanged = 0
    result.extra.clear()
    result.warnings.clear()
    result.batch_id = None


def _database_refusal(exc: DataError) -> str:
    return pgettext("import", "value refused by the database (%(error)s)") % {"error": " ".join(str(exc).split())[:200]}


def _announce(org: Organisation, kind: str, batch_id: int | None) -> None:
    """Tell the apps built on the ledger (dunning) which invoices this import created or paid: the
    ledger_changed signal, sent after the import's commit."""
    if kind == "customers":
        insolvent = Customer.objects.filter(organisation=org, in_insolvency=True).values_list("pk", flat=True)
        ledger_changed.send(sender=import_file, organisation=org, invoice_ids=[],
                            insolvent_customer_ids=list(insolvent))
        return
    if kind == "invoices":
        # Only those still owed: a new invoice already paid has no next date to give or to clear.
        ids = Invoice.objects.filter(organisation=org, source_import_id=batch_id, open_balance__gt=0).order_by()
        ids = ids.values_list("pk", flat=True)
    elif kind == "credit-notes":
        ids = Allocation.objects.filter(credit_note__source_import_id=batch_id).order_by()
        ids = ids.values_list("invoice_id", flat=True)
    else:
        ids = Allocation.objects.filter(payment__source_import_id=batch_id).order_by()
        ids = ids.values_list("invoice_id", flat=True)
    ids = list(ids)
    # Customers under proceedings whose invoices just arrived: their claims to declare are now known.
    insolvent = Customer.objects.filter(organisation=org, in_insolvency=True, invoices__source_import_id=batch_id)
    ledger_changed.send(sender=import_file, organisation=org, invoice_ids=ids,
                        insolvent_customer_ids=list(insolvent.distinct().values_list("pk", flat=True)))
