"""`relance import facturx|cii|ubl|documents FILE_OR_DIR --org SLUG`: the command's side of the e-invoice importers."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import npgettext, pgettext, pgettext_lazy

from relance.ledger.importers.documents import attach_documents
from relance.ledger.importers.einvoice import FORMATS, detect, import_einvoices
from relance.ledger.importers.formats import ImportFormat

# What became of each document, whole sentences: French agrees the participle with facture and avoir.
_OUTCOMES = {
    ("invoice", "created"): pgettext_lazy("import", "invoice %(number)s created"),
    ("invoice", "updated"): pgettext_lazy("import", "invoice %(number)s updated"),
    ("invoice", "unchanged"): pgettext_lazy("import", "invoice %(number)s unchanged"),
    ("credit_note", "created"): pgettext_lazy("import", "credit note %(number)s created"),
    ("credit_note", "updated"): pgettext_lazy("import", "credit note %(number)s updated"),
    ("credit_note", "unchanged"): pgettext_lazy("import", "credit note %(number)s unchanged"),
}
_DOCUMENTS = {
    "created": pgettext_lazy("import", "invoice %(number)s: document created"),
    "updated": pgettext_lazy("import", "invoice %(number)s: document updated"),
    "unchanged": pgettext_lazy("import", "invoice %(number)s: document unchanged"),
}


def run_einvoices(command, org, kind: str, path: Path, options: dict) -> None:
    report = import_einvoices(org, path, kind, dry_run=options.get("dry_run", False))
    if options.get("json"):
        command.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
    elif report.ok:
        for o in report.outcomes:
            note = f" ({o.note})" if o.note else ""
            command.stdout.write(f"{o.filename}: {str(_OUTCOMES[o.what, o.action]) % {'number': o.number}}{note}")
        verb = pgettext("import", "dry run (nothing was written)") if report.dry_run else pgettext("import", "imported")
        command.stdout.write(pgettext("import", "%(path)s: %(verb)s: %(created)s created, %(updated)s updated, "
                                      "%(unchanged)s unchanged")
                             % {"path": path, "verb": verb, "created": report.count("created"),
                                "updated": report.count("updated"), "unchanged": report.count("unchanged")})
    if not options.get("json"):
        for warning in report.warnings:
            command.stderr.write(f"{pgettext('import', 'warning:')} {warning}")
        for error in report.errors:
            command.stderr.write(str(error))
    if not report.ok:
        count = len(report.errors)
        raise CommandError(npgettext("import", "import refused, nothing was written (%(count)s problem)",
                                     "import refused, nothing was written (%(count)s problems)", count)
                           % {"count": count}, returncode=1)


def run_documents(command, org, kind: str, path: Path, options: dict) -> None:
    report = attach_documents(org, path, dry_run=options.get("dry_run", False))
    if options.get("json"):
        command.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for a in report.attached:
            command.stdout.write(f"{a.filename}: {str(_DOCUMENTS[a.action]) % {'number': a.number}}")
        for name, message in report.errors:
            command.stderr.write(f"{name}: {message}")
    if not report.ok:
        count = len(report.errors)
        raise CommandError(npgettext("import", "import refused, no document attached (%(count)s problem)",
                                     "import refused, no document attached (%(count)s problems)", count)
                           % {"count": count}, returncode=1)


EINVOICES = ImportFormat(FORMATS, detect, run_einvoices, "e-invoices: Factur-X/ZUGFeRD PDF, CII or UBL XML")
DOCUMENTS = ImportFormat(("documents",), lambda path, head: None, run_documents,
                         "invoice PDFs, each attached to the invoice its name (or Factur-X data) gives")
