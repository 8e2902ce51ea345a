"""Measure wall time and peak memory (RSS, children included) of a piece of work."""

from __future__ import annotations

import os
import resource
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Figure:
    name: str
    seconds: float = 0.0
    rows: int = 0
    extra: dict = field(default_factory=dict)

    def line(self) -> str:
        rate = f"{self.rows / self.seconds:,.0f} rows/s" if self.rows and self.seconds else ""
        extras = "  ".join(f"{k}={v}" for k, v in self.extra.items())
        return f"{self.name:<48} {self.seconds:8.2f} s  {rate:>16}  peak RSS {peak_rss_mb():7.0f} MB  {extras}"


@contextmanager
def measure(name: str, rows: int = 0, **extra):
    fig = Figure(name, rows=rows, extra=extra)
    start = time.perf_counter()
    try:
        yield fig
    finally:
        fig.seconds = time.perf_counter() - start
        print(fig.line(), flush=True)


def database_label() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.startswith("postgres") else "sqlite"


def prepare_database(bench_db: str, prefix: str) -> None:
    """Point Django at a fresh database of the benchmark's own, before django.setup(): PostgreSQL database
    `bench_db` (dropped and created) when DATABASE_URL points to PostgreSQL, else a SQLite file in a new
    temporary data dir."""
    url = os.environ.get("DATABASE_URL", "")
    os.environ["RELANCE_DATA_DIR"] = tempfile.mkdtemp(prefix=f"relance-bench-{prefix}-")
    if url.startswith("postgres"):
        import psycopg

        base, _, _ = url.rpartition("/")
        with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {bench_db}")
            conn.execute(f"CREATE DATABASE {bench_db}")
        os.environ["DATABASE_URL"] = f"{base}/{bench_db}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{os.environ['RELANCE_DATA_DIR']}/bench.sqlite3"
