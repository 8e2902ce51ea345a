"""relance import customers|invoices|payments FILE --org SLUG [--dry-run] [--json] [--map column=field ...]

Exit 0 when imported, 1 when the file is refused (every problem listed as `file:line: field: message`,
or `file: message` when the file as a whole is: not a regular file, over RELANCE_IMPORT_MAX_BYTES,
corrupt, mixed encodings), 2 on usage errors (unknown organisation, absent file, bad --map).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from relance.accounts.models import Organisation
from relance.ledger.importers import KINDS, ImportUsageError, import_file


def parse_mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        column, sep, field = item.partition("=")
        if not sep or not column.strip() or not field.strip():
            raise CommandError(f"--map {item!r}: colonne=champ attendu", returncode=2)
        mapping[column.strip()] = field.strip()
    return mapping


class Command(BaseCommand):
    help = "Import customers, invoices or payments from a CSV or XLSX file (French or English headers)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS), help="what the file holds")
        parser.add_argument("file", help="CSV (any of ; , tab separators, UTF-8 or Windows) or XLSX file")
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
            for line in result.warning_lines(50):
                self.stderr.write(line)
        else:
            for line in result.error_lines(50):
                self.stderr.write(line)
        if not result.ok:
            noun = "problème" if result.error_count == 1 else "problèmes"
            raise CommandError(f"import refusé, rien n'a été écrit ({result.error_count} {noun})", returncode=1)


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
