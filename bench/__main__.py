"""`make bench`: every benchmark, each in its own process (so peak memory is its own).

On SQLite, then again on PostgreSQL when it answers (PG_URL). BENCH_ARGS passes extra
arguments to every benchmark, e.g. BENCH_ARGS="--invoices 100000" for a quick run.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

BENCHMARKS = [
    ("bench.generate_bench", False),  # (module, also on PostgreSQL)
    ("bench.import_bench", True),
    ("bench.dunning_bench", True),
    ("bench.smtp_bench", False),
    ("bench.delivery_bench", True),
    ("bench.pages_bench", True),
    ("bench.statement_bench", False),
    ("bench.audit_bench", True),
    ("bench.matching_bench", True),
]
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")


def postgres_answers() -> bool:
    return subprocess.run([sys.executable, "scripts/pg_ready.py", PG_URL], capture_output=True).returncode == 0


def main() -> int:
    extra = shlex.split(os.environ.get("BENCH_ARGS", ""))
    failures = 0
    runs = [("sqlite", {k: v for k, v in os.environ.items() if k != "DATABASE_URL"})]
    if postgres_answers():
        runs.append(("postgresql", {**os.environ, "DATABASE_URL": PG_URL}))
    else:
        print(f"PostgreSQL at {PG_URL} does not answer: SQLite figures only")
    for label, env in runs:
        print(f"\n== {label} ==", flush=True)
        for module, on_postgres in BENCHMARKS:
            if label == "postgresql" and not on_postgres:
                continue
            args = extra if module not in ("bench.smtp_bench", "bench.delivery_bench") else []
            result = subprocess.run([sys.executable, "-m", module, *args], env=env)
            failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
