"""relance generate --customers N --invoices M --seed S --out DIR: a synthetic ledger as CSV files."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from relance.ledger.generator import LedgerGenerator, write_ledger_csv

# Below this many rows the files are written in about a second: no progress bar.
PROGRESS_FROM_ROWS = 50_000


def parse_day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--today {text!r}: date attendue AAAA-MM-JJ / expected YYYY-MM-DD")


def positive(name: str, value: int, minimum: int = 0) -> int:
    if value < minimum:
        raise CommandError(f"--{name} {value}: au moins {minimum} / at least {minimum}")
    return value


class Command(BaseCommand):
    help = (
        "Write customers.csv, invoices.csv and payments.csv (UTF-8, ';', French headers and formats) "
        "for a synthetic French ledger: the same seed and --today always give the same files."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, required=True, help="number of customers")
        parser.add_argument("--invoices", type=int, required=True, help="number of invoices")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--out", required=True, help="directory to write the three CSV files into")
        parser.add_argument("--today", default=None, help="last day of the period, YYYY-MM-DD (default: today)")
        parser.add_argument("--months", type=int, default=18, help="length of the period in months (default 18)")

    def handle(self, *args, **o):
        today = parse_day(o["today"]) if o["today"] else date.today()
        if not 1 <= o["months"] <= 120:
            raise CommandError(f"--months {o['months']}: entre 1 et 120 / between 1 and 120")
        gen = LedgerGenerator(
            seed=o["seed"], customers=positive("customers", o["customers"], 1),
            invoices=positive("invoices", o["invoices"]), today=today, months=o["months"],
        )
        out = Path(o["out"])
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out}: ce n'est pas un dossier / not a directory")
        started = time.perf_counter()
        if gen.n_customers + gen.n_invoices >= PROGRESS_FROM_ROWS and o["verbosity"] > 0:
            written = self._write_with_progress(gen, out)
        else:
            written = write_ledger_csv(gen, out)
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"{written.customers} clients, {written.invoices} factures, {written.payments} paiements "
            f"-> {out} ({seconds:.1f} s)"
        )

    def _write_with_progress(self, gen: LedgerGenerator, out: Path):
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=Console(stderr=True)) as progress:
            tasks = {
                "customers": progress.add_task("customers.csv", total=gen.n_customers),
                "invoices": progress.add_task("invoices.csv + payments.csv", total=gen.n_invoices),
            }

            def advance(kind: str, done: int) -> None:
                progress.update(tasks[kind], completed=done)

            return write_ledger_csv(gen, out, progress=advance)
