"""relance dossier --org SLUG --customer CODE --out FILE.zip: a customer's evidence dossier."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from relance.dossier.build import DossierError, build_dossier
from relance.dunning.management.commands._common import get_customer, get_org, parse_date


class Command(BaseCommand):
    help = ("Build a customer's evidence dossier: a ZIP with a summary PDF (parties, invoices, statement, "
            "chronology, interest and indemnity, total claimed), every document as sent, and a manifest of "
            "SHA-256 hashes.")

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--customer", required=True, help="customer code")
        parser.add_argument("--out", required=True, help="the ZIP file to write")
        parser.add_argument("--date", default=None, help="compute the claim as at this date (default: today)")

    def handle(self, *args, **o):
        org = get_org(o["org"])
        customer = get_customer(org, o["customer"])
        out = Path(o["out"])
        if not out.parent.is_dir():
            raise CommandError(f"--out {o['out']!r}: folder {str(out.parent)!r} does not exist")
        day = parse_date(o["date"]) if o["date"] else None
        try:
            data = build_dossier(org, customer, day)
        except DossierError as exc:
            raise CommandError(str(exc))
        out.write_bytes(data)
        self.stdout.write(f"{customer.external_id}: evidence dossier written to {out} ({len(data)} bytes)")
