"""Dunning benchmark: the daily run on a ledger of 1,000,000 open invoices of 100,000 customers.

    python -m bench.dunning_bench [--invoices 1000000] [--customers N] [--due-share 0.05] [--seed 42]

SQLite (a temporary file) by default; PostgreSQL when DATABASE_URL points to one, in a database
`bench_dunning` dropped and created again. The ledger is written with bulk inserts (COPY on
PostgreSQL), as a running ledger looks: every invoice has its dunning state and indexed next date,
about `--due-share` of them have a step due today. Measured:
  - the pure planner alone on every invoice state (no database);
  - a dry run and the real run of the day (targets: at most 10 s, peak RSS at most 1 GB);
  - a second run the same day, with nothing due (target: at most 1 s: it reads the index).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bench import common
from bench.common import database_label, measure, peak_rss_mb

BENCH_DB = "bench_dunning"
TODAY = date(2026, 7, 6)  # a Monday
CHUNK = 50_000


def prepare_database() -> None:
    common.prepare_database(BENCH_DB, "dunning")


def invoice_state(i: int, rng: random.Random, due_share: float) -> tuple:
    """(due date, last step, last date, next date) of invoice i: a running ledger."""
    roll = rng.random()
    if roll < due_share:
        # A step is due today: the first reminder, the call, or the SMS.
        kind = rng.random()
        if kind < 0.6:
            due = TODAY - timedelta(days=rng.randint(5, 11))
            return due, "pre-due", due - timedelta(days=3), TODAY - timedelta(days=rng.randint(0, 2))
        if kind < 0.85:
            due = TODAY - timedelta(days=rng.randint(12, 17))
            return due, "first", due + timedelta(days=5), TODAY
        due = TODAY - timedelta(days=rng.randint(18, 25))
        return due, "firm", due + timedelta(days=14), TODAY
    if roll < due_share + 0.25:
        # Overdue, its next step later: shown as "other overdue invoices" in the messages.
        due = TODAY - timedelta(days=rng.randint(1, 4))
        return due, "pre-due", due - timedelta(days=3), due + timedelta(days=7)
    due = TODAY + timedelta(days=rng.randint(4, 60))
    return due, "", None, due - timedelta(days=3)


def _layout(model, connection) -> tuple[list[str], list[str], list]:
    """Columns, attribute names and default values of a model's rows (new fields keep working)."""
    cols, names, defaults = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key and f.auto_created:  # an id from the sequence (not a one-to-one key)
            continue
        cols.append(f.column)
        names.append(f.attname)
        if f.has_default():
            defaults.append(f.get_db_prep_save(f.get_default(), connection))
        else:
            defaults.append(None if f.null else "")
    return cols, names, defaults


def insert(model, rows: list[dict], connection) -> None:
    if not rows:
        return
    cols, names, defaults = _layout(model, connection)
    data = [[r.get(n, d) for n, d in zip(names, defaults, strict=True)] for r in rows]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(cols))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", data)


def build_ledger(n_invoices: int, n_customers: int, due_share: float, seed: int):
    from django.db import connection, transaction

    from relance.accounts.models import Organisation
    from relance.dunning.defaults import install_default_scenarios
    from relance.dunning.models import InvoiceSchedule
    from relance.ledger.models import Contact, Customer, Invoice

    rng = random.Random(seed)
    org = Organisation.objects.create(slug="bench", legal_name="Bench SA", city="Lyon")
    install_default_scenarios(org)
    now = datetime.now(UTC)
    with transaction.atomic():
        customers = []
        for i in range(n_customers):
            address = rng.random() < 0.5
            customers.append({
                "organisation_id": org.pk, "external_id": f"C{i:06d}", "name": f"Société {i}",
                "address_line1": f"{i % 200} rue de la Paix" if address else "", "postcode": "69002" if address else "",
                "city": "Lyon" if address else "", "created_at": now, "updated_at": now,
            })
        for start in range(0, n_customers, CHUNK):
            insert(Customer, customers[start : start + CHUNK], connection)
        ids = list(Customer.objects.filter(organisation=org).order_by("pk").values_list("pk", flat=True))
        contacts = []
        for n, cid in enumerate(ids):
            contacts.append({"customer_id": cid, "kind": "email", "value": f"compta@c{n}.fr", "created_at": now})
            if rng.random() < 0.3:
                contacts.append({"customer_id": cid, "kind": "phone", "value": f"06 {n % 100:02d} 00 00 00",
                                 "created_at": now})
        for start in range(0, len(contacts), CHUNK):
            insert(Contact, contacts[start : start + CHUNK], connection)
        first_id = None
        for start in range(0, n_invoices, CHUNK):
            rows, schedules = [], []
            for i in range(start, min(start + CHUNK, n_invoices)):
                due, last_step, last_date, next_date = invoice_state(i, rng, due_share)
                total = Decimal(rng.randrange(6_000, 600_000)) / 100
                rows.append({
                    "organisation_id": org.pk, "customer_id": ids[i % len(ids)], "number": f"F{i:08d}",
                    "issue_date": due - timedelta(days=30), "due_date": due, "currency": "EUR",
                    "amount_excl_tax": total, "tax": Decimal("0"), "total": total, "open_balance": total,
                    "status": "open", "document": "", "external_id": "", "dunning_scheduled": True,
                    "created_at": now, "updated_at": now,
                })
                schedules.append((last_step, last_date, next_date))
            insert(Invoice, rows, connection)
            if first_id is None:
                first_id = Invoice.objects.filter(organisation=org).order_by("pk").values_list("pk", flat=True)[0]
            # Invoices get consecutive ids here (one writer): the schedule rows follow them.
            insert(InvoiceSchedule, [
                {"invoice_id": first_id + start + n, "organisation_id": org.pk, "last_step": step, "last_date": last,
                 "next_date": nxt}
                for n, (step, last, nxt) in enumerate(schedules)
            ], connection)
    last_id = Invoice.objects.filter(organisation=org).order_by("-pk").values_list("pk", flat=True)[0]
    assert last_id == first_id + n_invoices - 1, "the invoices' ids are not consecutive: schedules misplaced"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A ledger imported the day before has been vacuumed by autovacuum (hint bits, visibility
            # map) and checkpointed; without this the run would share the two cores with autovacuum
            # working through the million rows just written.
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("ANALYZE")
        if connection.vendor == "sqlite":
            # A ledger imported the day before has long been checkpointed; without this the run would
            # pay for folding the whole freshly written database back from the WAL.
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return org


def bench_pure(n_invoices: int, n_customers: int, due_share: float, seed: int) -> None:
    from relance.dunning.defaults import default_config
    from relance.dunning.planner import plan_day
    from relance.dunning.state import CustomerState, InvoiceState

    rng = random.Random(seed)
    config = default_config()
    customers = {
        c: CustomerState(id=c, external_id=f"C{c:06d}", name=f"Société {c}",
                         channels=frozenset({"email", "letter"} if c % 2 else {"email", "sms", "call"}))
        for c in range(n_customers)
    }
    invoices = []
    for i in range(n_invoices):
        due, last_step, last_date, next_date = invoice_state(i, rng, due_share)
        total = Decimal(rng.randrange(6_000, 600_000)) / 100
        invoices.append(InvoiceState(i, i % n_customers, f"F{i:08d}", due - timedelta(days=30), due, total,
                                     last_step=last_step, last_date=last_date, next_date=next_date))
    with measure("pure planner, every invoice examined", rows=n_invoices) as fig:
        plan = plan_day(config, customers, invoices, TODAY)
        fig.extra["messages"] = len(plan.messages)
        fig.extra["steps"] = sum(1 for a in plan.advances if a.performed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: invoices / 10")
    parser.add_argument("--due-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-pure", action="store_true", help="only the database runs")
    args = parser.parse_args()
    n_customers = args.customers or max(1, args.invoices // 10)
    prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from relance.dunning.actions import plan_today

    print(f"dunning bench on {database_label()}: {args.invoices:,} open invoices, {n_customers:,} customers, "
          f"{args.due_share:.0%} with a step due on {TODAY}", flush=True)
    call_command("migrate", verbosity=0)
    with measure("build the ledger (bulk insert)", rows=args.invoices):
        org = build_ledger(args.invoices, n_customers, args.due_share, args.seed)
    rss_before = peak_rss_mb()
    with measure("dry run of the day (plans, writes nothing)") as fig:
        result = plan_today(org, TODAY, dry_run=True)
        fig.extra.update(messages=result.reminders, steps=result.advanced)
    with measure("run of the day (target <= 10 s, <= 1 GB)", rows=result.advanced) as fig:
        result = plan_today(org, TODAY)
        fig.extra.update(messages=result.reminders, steps=result.advanced, tasks=result.tasks)
    start = time.perf_counter()
    with measure("second run, nothing due (target <= 1 s)") as fig:
        again = plan_today(org, TODAY)
        fig.extra.update(messages=again.reminders)
    nothing_due = time.perf_counter() - start
    print(f"peak RSS before the runs {rss_before:.0f} MB, after {peak_rss_mb():.0f} MB", flush=True)
    if not args.skip_pure:
        bench_pure(args.invoices, n_customers, args.due_share, args.seed)
    if nothing_due > 1.0:
        print(f"WARNING: the run with nothing due took {nothing_due:.2f} s (> 1 s)")
    from django.db import connection

    connection.close()
    if connection.vendor == "sqlite":
        shutil.rmtree(os.environ["RELANCE_DATA_DIR"], ignore_errors=True)  # the temporary database


if __name__ == "__main__":
    main()
