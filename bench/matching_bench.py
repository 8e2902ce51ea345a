"""Matching benchmark: 100,000 bank lines against 1,000,000 open invoices (pure), then reconcile on a database.

    python -m bench.matching_bench [--invoices 1000000] [--lines 100000] [--db-invoices 50000] [--seed 42]

The pure part (relance.ledger.matching, no database) indexes the open invoices once and matches every
line: invoice numbers typed in several ways, RF references, known IBANs with an exact amount,
combinations, partial payments and strangers. Target: 30 s. The database part builds a smaller ledger
(--db-invoices, a tenth as many payments; 0 skips it) with bulk inserts and times `reconcile()` — read,
match, allocate, write the proposals — on SQLite or PostgreSQL (DATABASE_URL), in a database of its own.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from bench import common
from bench.common import database_label, measure

BENCH_DB = "relance_bench_matching"
DAY = date(2026, 7, 1)


def _number(i: int) -> tuple[int, int, str]:
    year, seq = 2024 + i % 3, i // 3 + 1
    return year, seq, f"FA-{year}-{seq:06d}"


def make_invoices(n: int, customers: int, rng: random.Random):
    from relance.ledger.matching import OpenInvoice

    return [OpenInvoice(i, _number(i)[2], i % customers, Decimal(rng.randint(1000, 500000)) / 100,
                        DAY - timedelta(days=i % 400)) for i in range(n)]


def _typed(year: int, seq: int, rng: random.Random) -> str:
    return rng.choice([
        f"FA-{year}-{seq:06d}", f"FA{year} {seq}", f"F {year}/{seq:06d}", f"fa{year}{seq:06d}",
        f"REGLEMENT FACTURE FA {year}-{seq}",
    ])


def make_lines(n: int, invoices, customers: int, rng: random.Random):
    """Bank lines of every kind; returns (lines, known IBANs)."""
    from relance.ledger.matching import BankLine
    from relance.ledger.references import creditor_reference

    lines, ibans = [], {}
    for k in range(n):
        inv = invoices[rng.randrange(len(invoices))]
        year, seq, _ = _number(inv.id)
        roll = rng.random()
        iban = f"FR76{inv.customer_id:023d}"
        if roll < 0.40:
            line = BankLine(k, inv.balance, DAY, text=f"VIR SEPA CLIENT {inv.customer_id} {_typed(year, seq, rng)}")
        elif roll < 0.50:
            line = BankLine(k, inv.balance, DAY, reference=creditor_reference(inv))
        elif roll < 0.70:
            ibans[iban] = inv.customer_id
            line = BankLine(k, inv.balance, DAY, text="VIREMENT", payer_iban=iban)
        elif roll < 0.80:
            ibans[iban] = inv.customer_id
            amount = inv.balance + Decimal(rng.randint(1, 99))
            line = BankLine(k, amount, DAY, text="PAIEMENT GROUPE", payer_iban=iban)
        elif roll < 0.90:
            line = BankLine(k, (inv.balance / 2).quantize(Decimal("0.01")), DAY, text="ACOMPTE",
                            customer_id=inv.customer_id)
        else:
            line = BankLine(k, Decimal(rng.randint(100, 99999)) / 100, DAY, text=f"DIVERS {rng.randint(1, 10**6)}",
                            payer_name=f"INCONNU {k}")
        lines.append(line)
    return lines, ibans


def pure(args) -> None:
    from relance.ledger.matching import InvoiceIndex, KnownPayers, match_payments

    rng = random.Random(args.seed)
    customers = max(1, args.invoices // 10)
    invoices = make_invoices(args.invoices, customers, rng)
    lines, ibans = make_lines(args.lines, invoices, customers, rng)
    # CPU seconds too: on a shared machine the wall time says more about the neighbours.
    cpu = time.process_time()
    with measure(f"matching (pure): index {args.invoices:,} open invoices", rows=args.invoices) as fig:
        index = InvoiceIndex(invoices)
        fig.extra["cpu_s"] = f"{time.process_time() - cpu:.2f}"
    cpu = time.process_time()
    with measure(f"matching (pure): match {args.lines:,} bank lines", rows=args.lines) as fig:
        proposals = match_payments(lines, index, KnownPayers(ibans=ibans))
        rules = Counter(p.rule for p in proposals)
        fig.extra.update(cpu_s=f"{time.process_time() - cpu:.2f}",
                         rules=",".join(f"{r}:{c}" for r, c in rules.most_common()))


def prepare_database() -> None:
    common.prepare_database(BENCH_DB, "matching")


def database(args) -> None:
    from django.core.management import call_command

    from relance.accounts.models import Organisation
    from relance.ledger.models import Customer, Invoice, MatchProposal, Payment
    from relance.ledger.reconcile import reconcile

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    n, customers = args.db_invoices, max(1, args.db_invoices // 10)
    with measure(f"matching (db): build {customers:,} customers, {n:,} invoices, {n // 10:,} payments"):
        org = Organisation.objects.create(slug="bench", legal_name="Bench SA")
        custs = Customer.objects.bulk_create(
            [Customer(organisation=org, external_id=f"C{i:06d}", name=f"Client {i}") for i in range(customers)],
            batch_size=2000)
        rows = make_invoices(n, customers, rng)
        Invoice.objects.bulk_create(
            [Invoice(organisation=org, customer=custs[r.customer_id], number=r.number, issue_date=r.due_date,
                     due_date=r.due_date, total=r.balance, open_balance=r.balance) for r in rows], batch_size=2000)
        ids = dict(Invoice.objects.filter(organisation=org).values_list("number", "pk"))
        rows = [type(r)(ids[r.number], r.number, r.customer_id, r.balance, r.due_date) for r in rows]
        lines, _ = make_lines(n // 10, rows, customers, rng)
        Payment.objects.bulk_create(
            [Payment(organisation=org, date=line.date, amount=line.amount, reference=line.reference or line.text,
                     payer_name=line.payer_name, payer_iban=line.payer_iban,
                     customer=custs[line.customer_id] if line.customer_id is not None else None)
             for line in lines], batch_size=2000)
    with measure(f"matching (db, {database_label()}): reconcile {n // 10:,} payments vs {n:,} invoices",
                 rows=n // 10) as fig:
        result = reconcile(org)
        fig.extra.update(applied=result.applied, queued=result.queued)
    with measure(f"matching (db, {database_label()}): reconcile again (nothing left)") as fig:
        again = reconcile(org)
        fig.extra.update(applied=again.applied, proposals=MatchProposal.objects.count())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--db-invoices", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=42)
    args, _ = parser.parse_known_args(argv)  # `make bench` passes BENCH_ARGS to every benchmark
    if args.db_invoices:
        prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
    import django

    django.setup()
    print(f"matching bench: {args.lines:,} lines vs {args.invoices:,} invoices (pure); "
          f"reconcile on {database_label()} with {args.db_invoices:,} invoices", flush=True)
    pure(args)
    if args.db_invoices:
        database(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
