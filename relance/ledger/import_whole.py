"""The whole-file formats of the web imports: a FEC, a bank statement (CAMT.053/054, OFX, MT940), an
e-invoice (Factur-X/ZUGFeRD PDF, CII or UBL XML). No column mapping: the format is found from the
content, as `relance import FILE` does, and each importer's report is turned into an ImportResult (counts,
problems by place, warnings) so that import_jobs keeps one result dict and one reject report for all.
"""

from __future__ import annotations

import re
from pathlib import Path

from relance.ledger.importers import ImportResult, detect_kind, import_file
from relance.ledger.importers.einvoice import FORMATS as EINVOICE_KINDS
from relance.ledger.importers.einvoice import detect as detect_einvoice
from relance.ledger.importers.einvoice import import_einvoices
from relance.ledger.importers.statements import import_statement, is_statement
from relance.ledger.models import Payment
from relance.ledger.reconcile import reconcile

__all__ = ["KINDS", "STATEMENT", "SUFFIXES", "detect", "is_statement", "run"]

STATEMENT = "statement"
KINDS = ("fec", STATEMENT, *EINVOICE_KINDS)
# What the file may be called: FEC .txt/.csv, statements .xml/.zip (CAMT), .ofx/.qfx, .sta/.mt940/.940/.swi,
# e-invoices .pdf/.xml; banks also send CAMT files without any extension. The content decides.
SUFFIXES = {".txt", ".csv", ".xml", ".zip", ".ofx", ".qfx", ".sta", ".mt940", ".940", ".swi", ".pdf", ""}
_HEAD = 8192
_LINE = re.compile(r"\b(?:ligne|line) (\d+)")  # a statement's place, in French or English


def detect(path: Path) -> str | None:
    """fec, statement, facturx, cii or ubl from the file's content, in the order of `relance import FILE`."""
    kind = detect_kind(path) or (STATEMENT if is_statement(path) else None)
    if kind is not None:
        return kind
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD)
    except OSError:
        return None
    return detect_einvoice(path, head)


def run(org, kind: str, path: Path, *, dry_run: bool, user=None) -> tuple[ImportResult, dict]:
    """Import (or check) the file; its ImportResult, and what the result page tells besides the counts."""
    if kind == STATEMENT:
        return _statement(org, path, dry_run, user)
    if kind in EINVOICE_KINDS:
        return _einvoice(org, kind, path, dry_run, user)
    return import_file(org, kind, path, dry_run=dry_run), {}


def _statement(org, path: Path, dry_run: bool, user) -> tuple[ImportResult, dict]:
    report = import_statement(org, path, dry_run=dry_run)
    result = ImportResult(kind=STATEMENT, filename=path.name, created=report.created, unchanged=report.duplicates,
                          dry_run=dry_run, batch_id=report.batch_id)
    for place, message in report.problems:
        found = _LINE.search(place)
        result.add_error(int(found.group(1)) if found else 0, place, message)
    details = {"format": report.format, **report.counts()}
    if report.ok and not dry_run and report.batch_id:
        # As the command does: the new credits are matched to invoices at once, what is sure applied,
        # the rest queued for review on the matching page.
        new = Payment.objects.filter(organisation=org, source_import_id=report.batch_id)
        matched = reconcile(org, payment_ids=list(new.values_list("pk", flat=True)), user=user)
        details["matched"] = {"applied": matched.applied, "queued": matched.queued,
                              "allocated": str(matched.allocated)}
    return result, details


def _einvoice(org, kind: str, path: Path, dry_run: bool, user) -> tuple[ImportResult, dict]:
    report = import_einvoices(org, path, kind, dry_run=dry_run, user=user)
    result = ImportResult(kind=kind, filename=path.name, dry_run=dry_run, batch_id=report.batch_id)
    for error in report.errors:
        result.add_error(error.line, error.place, error.message)
    if report.ok:
        result.created, result.updated, result.unchanged = (
            report.count(a) for a in ("created", "updated", "unchanged"))
        for warning in report.warnings:
            result.add_warning(warning.line, warning.place, warning.message)
    documents = [{"number": o.number, "what": o.what, "action": o.action, "note": o.note} for o in report.outcomes]
    return result, {"documents": documents if report.ok else []}
