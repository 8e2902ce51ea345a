"""Generator benchmark: write the CSV files of 1,000,000 invoices of 100,000 customers.

    python -m bench.generate_bench [--invoices 1000000] [--customers N] [--seed 42] [--keep DIR]

Pure Python, no database: what `relance generate` costs, and the proof that it streams (peak RSS
stays that of the customer table, whatever the number of invoices).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import measure, peak_rss_mb
from relance.ledger.generator import LedgerGenerator, write_ledger_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: a tenth of the invoices")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", default=None, help="write the files here and keep them (default: a temp dir)")
    args, _ = parser.parse_known_args(argv)  # `make bench` passes BENCH_ARGS to every benchmark
    customers = args.customers or max(1, args.invoices // 10)
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="relance-bench-generate-"))
    gen = LedgerGenerator(seed=args.seed, customers=customers, invoices=args.invoices, today=date.today())
    marks: dict[str, float] = {}
    start = time.perf_counter()

    def progress(kind: str, done: int) -> None:
        marks[kind] = time.perf_counter() - start

    try:
        with measure(f"generate: {customers:,} customers + {args.invoices:,} invoices CSV",
                     rows=customers + args.invoices) as fig:
            written = write_ledger_csv(gen, out, progress=progress, every=max(1, args.invoices))
            size = sum(p.stat().st_size for p in written.paths.values())
            fig.extra.update(payments=f"{written.payments:,}", MB=f"{size / 1e6:.0f}")
        customers_s = max(marks["customers"], 1e-6)
        invoices_s = max(marks["invoices"] - customers_s, 1e-6)
        print(f"generate: customers.csv {customers_s:.2f} s ({customers / customers_s:,.0f} rows/s); "
              f"invoices.csv + payments.csv {invoices_s:.2f} s "
              f"({args.invoices / invoices_s:,.0f} invoices/s, {written.payments / invoices_s:,.0f} payments/s); "
              f"peak RSS {peak_rss_mb():.0f} MB")
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
