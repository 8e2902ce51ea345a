"""`relance import facturx|cii|ubl|documents FILE_OR_DIR --org SLUG`: the command's side of the e-invoice importers."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import CommandError

from relance.ledger.importers.documents import attach_documents
from relance.ledger.importers.einvoice import FORMATS, detect, import_einvoices
from relance.ledger.importers.formats import ImportFormat

_ACTIONS = {"created": "créée", "updated": "mise à jour", "unchanged": "inchangée"}
_WHAT = {"invoice": "facture", "credit_note": "avoir"}
_CREDIT_NOTE_ACTIONS = {"created": "créé", "updated": "mis à jour", "unchanged": "inchangé"}


def run_einvoices(command, org, kind: str, path: Path, options: dict) -> None:
    report = import_einvoices(org, path, kind, dry_run=options.get("dry_run", False))
    if options.get("json"):
        command.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
    elif report.ok:
        for o in report.outcomes:
            note = f" ({o.note})" if o.note else ""
            action = (_CREDIT_NOTE_ACTIONS if o.what == "credit_note" else _ACTIONS)[o.action]
            command.stdout.write(f"{o.filename}: {_WHAT[o.what]} {o.number} {action}{note}")
        verb = "simulation (rien n'a été écrit)" if report.dry_run else "importé"
        command.stdout.write(f"{path}: {verb}: {report.count('created')} créés, {report.count('updated')} mis à jour, "
                             f"{report.count('unchanged')} inchangés")
    if not options.get("json"):
        for warning in report.warnings:
            command.stderr.write(f"attention : {warning}")
        for error in report.errors:
            command.stderr.write(str(error))
    if not report.ok:
        noun = "problème" if len(report.errors) == 1 else "problèmes"
        raise CommandError(f"import refusé, rien n'a été écrit ({len(report.errors)} {noun})", returncode=1)


def run_documents(command, org, kind: str, path: Path, options: dict) -> None:
    report = attach_documents(org, path, dry_run=options.get("dry_run", False))
    if options.get("json"):
        command.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for a in report.attached:
            command.stdout.write(f"{a.filename}: facture {a.number} : document {_CREDIT_NOTE_ACTIONS[a.action]}")
        for name, message in report.errors:
            command.stderr.write(f"{name}: {message}")
    if not report.ok:
        noun = "problème" if len(report.errors) == 1 else "problèmes"
        raise CommandError(f"import refusé, aucun document joint ({len(report.errors)} {noun})", returncode=1)


EINVOICES = ImportFormat(FORMATS, detect, run_einvoices, "e-invoices: Factur-X/ZUGFeRD PDF, CII or UBL XML")
DOCUMENTS = ImportFormat(("documents",), lambda path, head: None, run_documents,
                         "invoice PDFs, each attached to the invoice its name (or Factur-X data) gives")
