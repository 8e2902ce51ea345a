"""Pages benchmark: the server time of every page of the web app on a ledger of 1,000,000 invoices.

    python -m bench.pages_bench [--invoices 1000000] [--customers N] [--seed 42] [--repeat 5] [--keep DIR]

The ledger is built as bench/dunning_bench.py builds it (bulk inserts, a running ledger with its
dunning state), then one daily run writes its reminders and tasks. SQLite (a temporary file; with
--keep DIR, DIR/pages-<N>.sqlite3, built once and reused) or PostgreSQL when DATABASE_URL points to
one (database `bench_pages`, reused with --keep). One owner logs in with Django's test Client and
GETs every page under /o/<slug>/ (walked from the URL configuration, parameters filled with one
object of each kind: tests/web/url_walk.py) and the account page: the median of --repeat requests
(in-process, so server time), the number of SQL queries, the status. Target: 300 ms a page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import database_label, measure

BENCH_DB = "bench_pages"
TARGET_MS = 300


def prepare_database(keep: str | None, n_invoices: int) -> bool:
    """Point Django at the benchmark's database, before django.setup(). True when it may be reused."""
    url = os.environ.get("DATABASE_URL", "")
    os.environ["RELANCE_DATA_DIR"] = tempfile.mkdtemp(prefix="relance-bench-pages-")
    if url.startswith("postgres"):
        import psycopg

        base, _, _ = url.rpartition("/")
        with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
            if not (keep and exists):
                conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
                conn.execute(f"CREATE DATABASE {BENCH_DB}")
        os.environ["DATABASE_URL"] = f"{base}/{BENCH_DB}"
        return bool(keep and exists)
    folder = Path(keep) if keep else Path(os.environ["RELANCE_DATA_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder.resolve() / f"pages-{n_invoices}.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return bool(keep and path.exists())


def ledger(args, reuse: bool):
    """The benchmark organisation with its ledger and one daily run: built, or found when reused."""
    from django.contrib.auth import get_user_model

    from bench.dunning_bench import TODAY, build_ledger
    from relance.accounts.models import Membership, Organisation
    from relance.dunning.actions import plan_today

    org = Organisation.objects.filter(slug="bench").first() if reuse else None
    if org is not None and org.invoices.count() == args.invoices:
        print(f"reusing the ledger of {args.invoices:,} invoices ({os.environ['DATABASE_URL'].split('@')[-1]})")
    else:
        if org is not None:
            raise SystemExit("the kept database holds another ledger: remove it or choose another --keep")
        n_customers = args.customers or max(1, args.invoices // 10)
        with measure("build the ledger (bulk insert)", rows=args.invoices):
            org = build_ledger(args.invoices, n_customers, 0.05, args.seed)
        with measure("one daily run (reminders, tasks)") as fig:
            result = plan_today(org, TODAY)
            fig.extra.update(messages=result.reminders, tasks=result.tasks)
    users = get_user_model().objects
    owner = users.filter(username="bench-owner").first() or users.create_user("bench-owner", "o@bench.example", "x")
    member = users.filter(username="bench-collector").first() or users.create_user("bench-collector", "", "x")
    Membership.objects.get_or_create(user=owner, organisation=org, defaults={"role": "owner"})
    Membership.objects.get_or_create(user=member, organisation=org, defaults={"role": "collector"})
    return org, owner, member


def busiest_customer(org):
    """A customer with many invoices and a reminder: the page a collector opens most."""
    from django.db.models import Count

    from relance.dunning.models import Reminder
    from relance.ledger.models import Customer

    reminded = Reminder.objects.filter(organisation=org).values_list("customer_id", flat=True)[:200]
    pick = (Customer.objects.filter(pk__in=list(reminded)).annotate(n=Count("invoices")).order_by("-n").first()
            or Customer.objects.filter(organisation=org).order_by("pk").first())
    return pick


def time_page(client, path: str, repeat: int) -> tuple[float, int, int]:
    """(median ms, queries, status) of GET path."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        status = client.get(path).status_code  # also warms the caches (templates, translations)
    n_queries = len(queries)  # now: each request empties the connection's query log when it starts
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), n_queries, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: a tenth of the invoices")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=5, help="requests per page (the median is shown)")
    parser.add_argument("--keep", default=None, help="keep the database (in this folder for SQLite) and reuse it")
    parser.add_argument("--skip", action="append", default=[], metavar="PREFIX",
                        help="leave out the pages whose URL name starts with PREFIX (repeatable)")
    args, _ = parser.parse_known_args(argv)  # `make bench` passes BENCH_ARGS to every benchmark
    reuse = prepare_database(args.keep, args.invoices)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.urls import reverse

    from tests.web.url_walk import build_path, build_world, organisation_routes

    print(f"pages bench on {database_label()}: {args.invoices:,} invoices", flush=True)
    call_command("migrate", verbosity=0)
    org, owner, member = ledger(args, reuse)
    from relance.lib.db import refresh_statistics

    refresh_statistics()  # as an import of that size does (the ledger here is built by bulk inserts)
    client = Client()
    client.force_login(owner)
    rows, slow = [], []
    # One object of each kind (reminder, promise, dispute, note...) for the pages' parameters, on a
    # busy customer; written in a transaction rolled back at the end, so a kept database stays as built.
    with transaction.atomic():
        world = build_world(org, busiest_customer(org), member=member, author=owner)
        routes = [r for r in organisation_routes() if not any((r.name or "").startswith(p) for p in args.skip)]
        pages = [(r.name or r.route, *build_path(r, org.slug, world)[:1]) for r in routes]
        pages.append(("account", reverse("account")))
        customers = reverse("customers", args=[org.slug])
        pages += [("customers by overdue", f"{customers}?sort=-overdue"),
                  ("customers by days late", f"{customers}?sort=-late"),
                  ("customers search", f"{customers}?q=a&sort=-overdue")]
        for name, path in pages:
            median, queries, status = time_page(client, path, args.repeat)
            rows.append((name, path, status, median, queries))
            if status == 200 and median > TARGET_MS:
                slow.append(name)
        transaction.set_rollback(True)
    width = max(len(r[1]) for r in rows)
    print(f"{'page':<24} {'path':<{width}} {'status':>6} {'median ms':>10} {'queries':>8}")
    for name, path, status, median, queries in rows:
        flag = "  > target" if status == 200 and median > TARGET_MS else ""
        print(f"{name:<24} {path:<{width}} {status:>6} {median:>10.1f} {queries:>8}{flag}")
    print(f"target {TARGET_MS} ms a page: " + (f"{len(slow)} slower: {', '.join(slow)}" if slow else "all within"),
          flush=True)
    connection.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
