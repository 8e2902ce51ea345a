"""relance aged-balance --org SLUG [--as-of D] [--format json|csv|xlsx|pdf] [--out FILE]: the aged
balance per customer on any past date (writes nothing in the database)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from relance.dunning.management.commands._common import get_org, parse_date
from relance.dunning.queries import org_today
from relance.reports.aged import get_aged_balance
from relance.reports.exports import FORMATS, aged_file

BINARY = {"xlsx", "pdf"}


class Command(BaseCommand):
    help = "The aged balance (balance âgée) per customer and in total, on a date (default: today)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--as-of", default=None, help="the date of the report, YYYY-MM-DD (default: today)")
        parser.add_argument("--format", default="json", choices=FORMATS)
        parser.add_argument("--out", default=None, help="the file to write (default: standard output; "
                                                          "required for xlsx and pdf)")

    def handle(self, *args, **o):
        org = get_org(o["org"])
        as_of = parse_date(o["as_of"], "--as-of") if o["as_of"] else org_today(org)
        if o["format"] in BINARY and not o["out"]:
            raise CommandError(f"--format {o['format']}: give the file to write with --out FILE")
        content = aged_file(get_aged_balance(org, as_of), o["format"], org.legal_name)
        if o["out"]:
            out = Path(o["out"])
            try:
                out.write_bytes(content)
            except OSError as exc:
                raise CommandError(f"--out {o['out']}: {exc.strerror or exc}")
            return
        self.stdout.write(content.decode("utf-8").removeprefix("\ufeff"), ending="" if o["format"] == "csv" else "\n")
