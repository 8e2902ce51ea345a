"""Audit log benchmark: append a million entries in bulk (hashes chained in Python, rows by COPY /
executemany), then verify them as `relance verify-log` does (keyset pages, flat memory).

    python -m bench.audit_bench [--entries 1000000]

Prints the time and rows/s of each, and the peak memory.
"""

from __future__ import annotations

import argparse
import os
import sys

from bench import common
from bench.common import database_label, measure

BENCH_DB = "relance_bench_audit"


def prepare_database() -> None:
    common.prepare_database(BENCH_DB, "audit")


def events(n: int):
    """What a daily run records: reminders planned, each about a customer and a few invoices."""
    from relance.audit.log import Event

    for i in range(1, n + 1):
        yield Event("reminder.planned", "reminder", str(i), f"C{i % 50000:06d}", i % 50000 + 1, {
            "reminder": i, "channel": "email", "step": "first", "template": "structured_reminder",
            "tone": "firm", "total_due": f"{1200 + i % 97}.00", "run_date": "2026-07-06",
            "invoices": [f"F{i:07d}", f"F{i + 1:07d}"],
        })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from relance.accounts.models import Organisation
    from relance.audit.log import record_many
    from relance.audit.verify import verify_org

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(slug="bench", legal_name="Bench SA")
    n = args.entries
    print(f"audit log, {n:,} entries, {database_label()}", flush=True)
    with measure("append in bulk (record_many)", rows=n):
        record_many(org, events(n))
    with measure("verify (verify-log)", rows=n):
        verdict = verify_org(org)
    if not verdict.ok or verdict.count != n:
        print(f"verification failed: {verdict.problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
