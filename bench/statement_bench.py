"""Bank statement benchmark: a 50 MB CAMT.053 generated, then parsed (streamed: memory stays flat).

    python -m bench.statement_bench [--mb 50] [--seed 42]

A small file (a tenth) is parsed first, then the big one: with iterparse clearing each entry, the
peak RSS after the big file is that of the small one, whatever the size. Only the reading is
measured (no database): the writing is the payments' bulk writer, measured by bench.import_bench.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from bench.common import measure, peak_rss_mb


def entries(rng: random.Random, target_bytes: int):
    """Entries until about target_bytes of XML (about 600 bytes each)."""
    from relance.ledger.importers.statements.generate import Entry

    start = date(2026, 1, 1)
    written = n = 0
    while written < target_bytes:
        n += 1
        credit = rng.random() < 0.7
        entry = Entry(
            Decimal(rng.randrange(100, 5_000_000)) / 100, start + timedelta(days=n % 365), credit=credit,
            ref=f"BQ{n:012d}", remittance=f"Facture F-2026-{rng.randrange(1_000_000):06d} client C{n % 9973:05d}",
            creditor_ref=f"RF{rng.randrange(10, 99)}{n:010d}" if rng.random() < 0.3 else "",
            payer=f"Société {n % 9973} SARL", payer_iban="FR7630006000011234567890189",
            end_to_end=f"E2E-{n:010d}",
        )
        written += 600
        yield entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    args, _ = parser.parse_known_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
    import django

    django.setup()
    from relance.ledger.importers.statements import read_lines
    from relance.ledger.importers.statements.generate import write_camt

    work = Path(tempfile.mkdtemp(prefix="relance-bench-statement-"))
    files = []
    for mb in (max(1, args.mb // 10), args.mb):
        path = work / f"camt053-{mb}mb.xml"
        with measure(f"statement: generate a {mb} MB CAMT.053") as fig, path.open("w", encoding="utf-8") as out:
            fig.rows = write_camt(out, entries(random.Random(args.seed), mb * 1_000_000), version=8)
        files.append((path, fig.rows))
    for path, rows in files:
        size = path.stat().st_size / 1e6
        with measure(f"statement: parse {size:.0f} MB CAMT.053 (iterparse)", rows=rows) as fig:
            credits = sum(1 for line in read_lines(path) if line.kind == "credit")
        fig.extra["credits"] = credits
        print(f"  after {size:.0f} MB: peak RSS {peak_rss_mb():.0f} MB", flush=True)
    for path, _ in files:
        path.unlink()
    work.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
