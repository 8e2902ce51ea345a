"""relance import KIND FILE --org SLUG [--dry-run] [--json] [--map column=field ...]

KIND: customers, invoices, payments, credit-notes (CSV/XLSX); fec (the legal accounting export,
`--journals VT,VE`, `--customer-prefix 411`); statement (a bank statement: CAMT.053/054, OFX, MT940;
`payments` given a file that is no table is one too); facturx, cii, ubl (e-invoices); documents (a
directory of invoice PDFs). `relance import FILE --org SLUG` (or `--format KIND|camt|ofx|mt940`) finds
the kind from the file's content.

Exit 0 when imported, 1 when the file is refused (every problem listed as `file:line: field: message`,
or `file: message` when the file as a whole is: not a regular file, over RELANCE_IMPORT_MAX_BYTES,
corrupt, mixed encodings), 2 on usage errors (unknown organisation, absent file, bad --map).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import npgettext, pgettext

from relance.accounts.models import Organisation
from relance.ledger.importers import FORMATS, KINDS, ImportUsageError, detect_kind, einvoice_cli, import_file
from relance.ledger.importers.formats import ImportFormat
from relance.ledger.importers.statements import FORMATS as STATEMENT_FORMATS
from relance.ledger.importers.statements import import_statement, is_statement
from relance.ledger.models import Payment
from relance.ledger.reconcile import reconcile

# Importers of whole documents, asked in this order which kind a file is when none is given.
DOCUMENT_FORMATS: list[ImportFormat] = [
    einvoice_cli.EINVOICES,  # facturx, cii, ubl
    einvoice_cli.DOCUMENTS,  # documents (a directory of invoice PDFs)
]
DOCUMENT_KINDS = [k for f in DOCUMENT_FORMATS for k in f.kinds]


def parse_mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        column, sep, field = item.partition("=")
        if not sep or not column.strip() or not field.strip():
            raise CommandError(pgettext("import", "--map %(item)s: column=field expected") % {"item": repr(item)},
                               returncode=2)
        mapping[column.strip()] = field.strip()
    return mapping


class Command(BaseCommand):
    help = ("Import customers, invoices, payments or credit notes from a CSV or XLSX file (French or English "
            "headers), a whole ledger export (FEC), a bank statement, e-invoices (Factur-X/ZUGFeRD PDF, CII, "
            "UBL) or a directory of invoice PDFs.")

    def add_arguments(self, parser):
        kinds = ", ".join([*KINDS, *FORMATS, "statement", *DOCUMENT_KINDS])
        parser.add_argument("what", metavar="KIND|FILE",
                            help=f"what the file holds ({kinds}), or the file itself: its format is then "
                                 "recognised from its content")
        parser.add_argument("file", nargs="?", metavar="FILE",
                            help="CSV (any of ; , tab separators, UTF-8 or Windows), XLSX, FEC, bank statement, "
                                 "e-invoice, or a directory of them")
        parser.add_argument("--format", choices=sorted([*FORMATS, *STATEMENT_FORMATS, *DOCUMENT_KINDS]),
                            help="the file's format, when no KIND is given (or the bank statement's format)")
        parser.add_argument("--journals", help="FEC: the sales journals' codes, comma-separated (default: the "
                                               "journals whose customer lines are mostly debits)")
        parser.add_argument("--customer-prefix", default="411", help="FEC: customer accounts start with this")
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
        parser.add_argument(
            "--map", action="append", default=[], metavar="COLUMN=FIELD",
            help="read the file's COLUMN as FIELD (a field name or a known header); repeatable",
        )

    def handle(self, *args, **o):
        org = Organisation.objects.filter(slug=o["org"]).first()
        if org is None:
            raise CommandError(pgettext("import", "unknown organisation: %(org)s") % {"org": o["org"]}, returncode=2)
        kind, path = _kind_and_file([o["what"], o["file"]] if o["file"] else [o["what"]], o["format"])
        if kind == "statement" or (kind == "payments" and is_statement(path)):
            return self.import_statement(org, path, o)
        for fmt in DOCUMENT_FORMATS:
            if kind in fmt.kinds:
                if not Path(path).exists():
                    raise CommandError(pgettext("import", "%(path)s: file or folder missing") % {"path": path},
                                       returncode=2)
                fmt.run(self, org, kind, Path(path), o)
                return
        mapping = parse_mapping(o["map"])
        options = {"prefix": o["customer_prefix"].strip() or "411"}
        if o["journals"]:
            options["journals"] = {j.strip() for j in o["journals"].split(",") if j.strip()}
        with _progress_bar(enabled=not o["json"] and sys.stderr.isatty()) as progress:
            try:
                result = import_file(org, kind, path, mapping=mapping, dry_run=o["dry_run"],
                                     progress=progress, options=options)
            except ImportUsageError as exc:
                raise CommandError(str(exc), returncode=2)
        if o["json"]:
            self.stdout.write(result.as_json())
        elif result.ok:
            self.stdout.write(_summary(result))
            for line in result.warning_lines(50):
                self.stderr.write(line)
        else:
            for line in result.error_lines(50):
                self.stderr.write(line)
        if not result.ok:
            count = result.error_count
            raise CommandError(npgettext("import", "import refused, nothing was written (%(count)s problem)",
                                         "import refused, nothing was written (%(count)s problems)", count)
                               % {"count": count}, returncode=1)

    def import_statement(self, org, path: str, o) -> None:
        """A bank statement (CAMT.053/054, OFX, MT940): its credits become unallocated payments."""
        fmt = o["format"] if o["format"] in STATEMENT_FORMATS else None
        try:
            result = import_statement(org, path, fmt=fmt, dry_run=o["dry_run"])
        except ImportUsageError as exc:
            raise CommandError(str(exc), returncode=2)
        matched = None
        if result.ok and not o["dry_run"] and result.batch_id:
            # The new credits are matched to invoices at once: what is sure is applied, the rest queued.
            new = Payment.objects.filter(organisation=org, source_import_id=result.batch_id)
            matched = reconcile(org, payment_ids=list(new.values_list("pk", flat=True)))
        if o["json"]:
            counts = {**result.counts(), "errors": result.errors}
            if matched is not None:
                counts["matched"] = {"applied": matched.applied, "queued": matched.queued,
                                     "allocated": str(matched.allocated)}
            self.stdout.write(json.dumps(counts, ensure_ascii=False))
        elif result.ok:
            self.stdout.write(result.summary())
            if matched is not None:
                self.stdout.write(pgettext("import", "reconciliation: %(applied)s payments allocated (%(amount)s €), "
                                           "%(queued)s to check (relance match review --org %(org)s)")
                                  % {"applied": matched.applied, "amount": matched.allocated, "queued": matched.queued,
                                     "org": org.slug})
        else:
            for line in result.errors:
                self.stderr.write(line)
        if not result.ok:
            raise CommandError(pgettext("import", "import refused, nothing was written"), returncode=1)


def _kind_and_file(what: list[str], fmt: str | None) -> tuple[str, str]:
    """KIND FILE, or FILE alone with --format or a format recognised from the file."""
    known = [*KINDS, *FORMATS, "statement", *DOCUMENT_KINDS]
    if len(what) == 2:
        if what[0] not in known:
            raise CommandError(pgettext("import", "unknown kind of import: %(kind)s (%(known)s)")
                               % {"kind": what[0], "known": ", ".join(known)}, returncode=2)
        return what[0], what[1]
    if what[0] in known:
        raise CommandError(pgettext("import", "file to import missing after %(kind)s") % {"kind": what[0]},
                           returncode=2)
    if fmt in STATEMENT_FORMATS:
        return "statement", what[0]
    kind = fmt or detect_kind(what[0]) or ("statement" if is_statement(what[0]) else None) or _detect_document(what[0])
    if kind is None:
        raise CommandError(pgettext("import", "%(file)s: file type not recognised; say which: relance import KIND "
                                    "%(file)s (%(known)s)") % {"file": what[0], "known": ", ".join(known)},
                           returncode=2)
    return kind, what[0]


def _detect_document(name: str) -> str | None:
    path = Path(name)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except IsADirectoryError:
        head = b""
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror or exc}", returncode=2)
    return next((kind for fmt in DOCUMENT_FORMATS if (kind := fmt.detect(path, head)) is not None), None)


def _summary(result) -> str:
    verb = pgettext("import", "dry run (nothing was written)") if result.dry_run else pgettext("import", "imported")
    text = pgettext("import", "%(path)s: %(verb)s: %(created)s created, %(updated)s updated, %(unchanged)s "
                    "unchanged") % {"path": result.filename, "verb": verb, "created": result.created,
                                    "updated": result.updated, "unchanged": result.unchanged}
    if result.extra.get("customers_created"):
        text += pgettext("import", "; %(count)s customers created from the invoices") % {
            "count": result.extra["customers_created"]}
    if result.extra.get("allocations_created"):
        text += pgettext("import", "; %(count)s allocations created by the lettering") % {
            "count": result.extra["allocations_created"]}
    return text


class _progress_bar:
    """A rich progress bar on stderr, for big files on a terminal; a no-op otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.task = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("import"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task("import", total=None)
        return self.update

    def update(self, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done, total=total or None)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
