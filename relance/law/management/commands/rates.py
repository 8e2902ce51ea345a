"""relance rates check | update --file F: the ECB and legal interest rate tables in use."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from relance.law.rates import (
    RateTableError,
    check_update,
    default_rate_table,
    missing_half_years,
    semester_start,
    table_paths,
)


class Command(BaseCommand):
    help = "Check the rate tables (exit 1 when the current or next half-year is missing) or update one from a CSV."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="warn when a rate of the current or next half-year is missing")
        check.add_argument("--date", default=None, help="check as of this day (YYYY-MM-DD), default today")
        update = sub.add_parser("update", help="replace the ECB or legal-rate table by a validated CSV")
        update.add_argument("--file", required=True,
                            help="ecb_rates.csv or taux_legal.csv format (see relance/law/data)")

    def handle(self, *args, **o):
        if o["action"] == "update":
            self._update(Path(o["file"]))
            return
        try:
            today = date.fromisoformat(o["date"]) if o["date"] else date.today()
        except ValueError:
            raise CommandError(f"--date {o['date']!r}: expected a date as YYYY-MM-DD")
        table = default_rate_table()
        ecb, legal = table_paths()
        self.stdout.write(f"taux BCE : {ecb} (vérifié jusqu'au {table.ecb_checked_until})")
        self.stdout.write(f"taux légal : {legal} (vérifié jusqu'au {table.legal_checked_until})")
        missing = missing_half_years(table, today)
        for item in missing:
            self.stderr.write(f"attention : taux manquant pour {item} ; "
                              "ajoutez-le avec 'relance rates update --file F'")
        if missing:
            sys.exit(1)
        self.stdout.write(f"les taux du semestre en cours ({semester_start(today)}) et du suivant sont connus")

    def _update(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"--file {path}: {exc}")
        try:
            kind, _table = check_update(text, str(path))
        except RateTableError as exc:
            raise CommandError(f"{exc} (rien n'a été modifié)")
        target_dir = settings.DATA_DIR / "rates"
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / kind
        temporary = target.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)  # all or nothing: readers see the old file or the new one
        default_rate_table.cache_clear()
        self.stdout.write(f"{target} : table mise à jour depuis {path}")
