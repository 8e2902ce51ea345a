"""relance import KIND FILE --org SLUG [--dry-run] [--json] [--map column=field ...]

KIND: customers, invoices, payments, credit-notes (CSV/XLSX), or one of FORMATS' kinds (facturx, ...).

`relance import FILE --org SLUG` (or `--format KIND`) finds the kind from the file's content among FORMATS.

Exit 0 when imported, 1 when the file is refused (every problem listed as `file:line: field: message`,
or `file: message` when the file as a whole is: not a regular file, over RELANCE_IMPORT_MAX_BYTES,
corrupt, mixed encodings), 2 on usage errors (unknown organisation, absent file, bad --map).
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from relance.accounts.models import Organisation
from relance.ledger.importers import KINDS, ImportUsageError, einvoice_cli, import_file
from relance.ledger.importers.formats import ImportFormat

# Importers of whole documents, asked in this order which kind a file is when none is given.
FORMATS: list[ImportFormat] = [
    einvoice_cli.EINVOICES,  # facturx, cii, ubl
    einvoice_cli.DOCUMENTS,  # documents (a directory of invoice PDFs)
]


def parse_mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        column, sep, field = item.partition("=")
        if not sep or not column.strip() or not field.strip():
            raise CommandError(f"--map {item!r}: colonne=champ attendu", returncode=2)
        mapping[column.strip()] = field.strip()
    return mapping


class Command(BaseCommand):
    help = ("Import customers, invoices, payments or credit notes from a CSV or XLSX file (French or English "
            "headers), e-invoices (Factur-X/ZUGFeRD PDF, CII, UBL) or a directory of invoice PDFs.")

    def add_arguments(self, parser):
        kinds = ", ".join([*KINDS, *(k for f in FORMATS for k in f.kinds)])
        parser.add_argument("kind", metavar="KIND", help=f"what the file holds ({kinds}); omit it to detect it "
                                                         "from the content")
        parser.add_argument("file", nargs="?", help="CSV (any of ; , tab separators, UTF-8 or Windows) or XLSX "
                                                    "file, or the file or directory of the format")
        parser.add_argument("--format", dest="format", metavar="KIND", help="the kind, when FILE comes alone")
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
            raise CommandError(f"organisation inconnue: {o['org']}", returncode=2)
        kind, path = _kind_and_path(o)
        for fmt in FORMATS:
            if kind in fmt.kinds:
                if not path.exists():
                    raise CommandError(f"{path}: fichier ou dossier absent", returncode=2)
                fmt.run(self, org, kind, path, o)
                return
        o["kind"], o["file"] = kind, str(path)
        mapping = parse_mapping(o["map"])
        with _progress_bar(enabled=not o["json"] and sys.stderr.isatty()) as progress:
            try:
                result = import_file(org, o["kind"], o["file"], mapping=mapping, dry_run=o["dry_run"],
                                     progress=progress)
            except ImportUsageError as exc:
                raise CommandError(str(exc), returncode=2)
        if o["json"]:
            self.stdout.write(result.as_json())
        elif result.ok:
            self.stdout.write(_summary(result))
        else:
            for line in result.error_lines(50):
                self.stderr.write(line)
        if not result.ok:
            noun = "problème" if result.error_count == 1 else "problèmes"
            raise CommandError(f"import refusé, rien n'a été écrit ({result.error_count} {noun})", returncode=1)


def _kind_and_path(o: dict) -> tuple[str, Path]:
    """The kind given (`relance import KIND FILE`, `--format`) or found from the content (`relance import FILE`)."""
    known = [*KINDS, *(k for f in FORMATS for k in f.kinds)]
    if o["file"] is not None:
        kind, path = o["kind"], Path(o["file"])
        if o["format"] and o["format"] != kind:
            raise CommandError(f"--format {o['format']} contredit le type {kind}", returncode=2)
    else:
        path, kind = Path(o["kind"]), o["format"]
        if kind is None:
            kind = _detect(path)
    if kind not in known:
        raise CommandError(f"type d'import inconnu: {kind} ({', '.join(known)})", returncode=2)
    return kind, path


def _detect(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except IsADirectoryError:
        head = b""
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror or exc}", returncode=2)
    for fmt in FORMATS:
        kind = fmt.detect(path, head)
        if kind is not None:
            return kind
    kinds = ", ".join([*KINDS, *(k for f in FORMATS for k in f.kinds)])
    raise CommandError(f"{path}: type de fichier non reconnu ; précisez-le : relance import KIND {path} ({kinds})",
                       returncode=2)


def _summary(result) -> str:
    verb = "simulation (rien n'a été écrit)" if result.dry_run else "importé"
    text = (f"{result.filename}: {verb}: {result.created} créés, {result.updated} mis à jour, "
            f"{result.unchanged} inchangés")
    if result.extra.get("customers_created"):
        text += f" ; {result.extra['customers_created']} clients créés depuis les factures"
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
