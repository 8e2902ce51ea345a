"""Import benchmark: 1,000,000 invoices of 100,000 customers from CSV, into a fresh database.

    python -m bench.import_bench [--invoices 1000000] [--customers N] [--seed 42] [--reimport] [--scenarios]

SQLite (a temporary file) by default; PostgreSQL when DATABASE_URL points to one, in a database
`bench_import` dropped and created again. The CSV files are the demo's format (UTF-8, `;`,
decimal comma, dd/mm/yyyy), generated here, streaming, with a fixed seed. Target: at most 60 s
and 500 MB peak RSS for the million invoices. With --scenarios the organisation has the default
dunning scenarios, as after `relance init`: the import then also schedules each new open invoice's
first dunning date (measured apart).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench.common import database_label, measure, peak_rss_mb

BENCH_DB = "bench_import"


def write_customers(path: Path, count: int, rng: random.Random) -> None:
    kinds = ("entreprise",) * 8 + ("particulier", "public")
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Code client;Raison sociale;Type;E-mail;Téléphone;Adresse;Code postal;Ville;Pays;Langue;Stratégique\n")
        for i in range(count):
            phone = f"0{rng.randint(1, 5)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} 00"
            f.write(
                f"C{i:06d};Société {i} SARL;{rng.choice(kinds)};compta{i}@client{i % 997}.fr;{phone};"
                f"{rng.randint(1, 200)} rue de la Paix;{rng.randint(10, 95)}000;Ville {i % 500};FR;fr;"
                f"{'oui' if rng.random() < 0.05 else 'non'}\n"
            )


def write_invoices(path: Path, count: int, customers: int, rng: random.Random) -> None:
    start = date.today() - timedelta(days=548)
    days = [(start + timedelta(days=d)) for d in range(548 + 60)]
    fr = [d.strftime("%d/%m/%Y") for d in days]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Numéro de facture;Code client;Raison sociale;Date de facture;Date d'échéance;Montant HT;TVA;"
                "Montant TTC;Devise;Déjà payé\n")
        for i in range(count):
            c = rng.randrange(customers)
            day = rng.randrange(548)
            ht = rng.randrange(5_000, 2_500_000)  # cents
            tax = ht // 5
            total = ht + tax
            roll = rng.random()
            paid = total if roll < 0.7 else (total // 2 if roll < 0.8 else 0)
            f.write(
                f"F{i:08d};C{c:06d};Société {c} SARL;{fr[day]};{fr[day + 30]};{_fr(ht)};{_fr(tax)};{_fr(total)};"
                f"EUR;{_fr(paid)}\n"
            )


def _fr(amount_cents: int) -> str:
    """1234567 -> '12 345,67': thousands spaces and decimal comma, as French exports write them."""
    units, cents = divmod(amount_cents, 100)
    return f"{units:,}".replace(",", " ") + f",{cents:02d}"


def prepare_database() -> None:
    """Point Django at a fresh database of its own, before django.setup()."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, _, _ = url.rpartition("/")
        with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        os.environ["DATABASE_URL"] = f"{base}/{BENCH_DB}"
    else:
        data = tempfile.mkdtemp(prefix="relance-bench-import-")
        os.environ["RELANCE_DATA_DIR"] = data
        os.environ["DATABASE_URL"] = f"sqlite:///{data}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: a tenth of the invoices")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reimport", action="store_true", help="also import the invoices again (all unchanged)")
    parser.add_argument("--scenarios", action="store_true", help="install the default scenarios first")
    args, _ = parser.parse_known_args(argv)
    customers = args.customers or max(1, args.invoices // 10)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="relance-bench-files-"))
    with measure(f"import: generate {customers:,} customers + {args.invoices:,} invoices CSV",
                 rows=customers + args.invoices):
        write_customers(work / "customers.csv", customers, rng)
        write_invoices(work / "invoices.csv", args.invoices, customers, rng)

    prepare_database()
    import django

    django.setup()
    from django.core.management import call_command

    from relance.accounts.models import Organisation
    from relance.ledger.importers import import_file

    call_command("migrate", interactive=False, verbosity=0)
    org = Organisation.objects.create(slug="bench", legal_name="Bench SAS")
    if args.scenarios:
        from relance.dunning.defaults import install_default_scenarios

        install_default_scenarios(org)
        _time_scheduling()
    db = database_label()
    runs = [("customers", customers), ("invoices", args.invoices)]
    if args.reimport:
        runs.append(("invoices", args.invoices))
    failed = False
    for kind, rows in runs:
        with measure(f"import: {kind} ({db})", rows=rows) as fig:
            result = import_file(org, kind, work / f"{kind}.csv")
            fig.extra.update(created=result.created, updated=result.updated, unchanged=result.unchanged)
        if not result.ok:
            print("\n".join(result.error_lines(10)), file=sys.stderr)
            failed = True
    print(f"import: peak RSS {peak_rss_mb():.0f} MB ({db})")
    shutil.rmtree(work)
    if db == "sqlite":
        from django.db import connection

        connection.close()
        shutil.rmtree(os.environ["RELANCE_DATA_DIR"], ignore_errors=True)
    return 1 if failed else 0


def _time_scheduling() -> None:
    """Print the time the import spends scheduling first dunning dates, apart from the import."""
    import time

    from relance.dunning import actions

    refresh = actions.refresh_next_dates

    def timed(*args, **kwargs):
        start = time.perf_counter()
        changed = refresh(*args, **kwargs)
        print(f"  of which scheduling {changed:,} open invoices: {time.perf_counter() - start:.2f} s", flush=True)
        return changed

    actions.refresh_next_dates = timed


if __name__ == "__main__":
    sys.exit(main())
