"""Running totals of the ledger, so that no page sums a million invoices on each request.

Two tables, kept by the writers of invoices (`relance.ledger.balances.refresh`, the importers):
- `DayTotals`: per organisation and day, the open balance (and count) of the open invoices due that
  day, and the amount invoiced that day. The dashboard's aged balance and the sales of the DSO
  period add up a few hundred of these rows instead of every invoice.
- columns of `Customer` (open_amount, overdue_amount...): the open balance and count, and as of
  `TotalsDate.as_of` the overdue balance, count and the oldest overdue due date. "Overdue" depends
  on the day: `bring_to()` moves the figures to another day by recomputing only the customers with
  an invoice falling due in between (a day's worth of invoices), once a day.

Deltas are computed from the invoices' state before and after a write (`tracking`), so the rule of
what is open stays the ledger's own (`relance.ledger.queries.OPEN_STATUSES`, positive balance). An
organisation without a `TotalsDate` row has no totals yet: writes skip it and the first read builds
them all (`rebuild`), as do imports of many rows. The daily run rebuilds them too: a writer that
forgot to track heals within a day.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from relance.ledger.models import Customer, DayTotals, Invoice, InvoiceStatus, TotalsDate
from relance.ledger.queries import OPEN_STATUSES
from relance.lib.money import ZERO, MoneySum

CHUNK = 500
# Moving the overdue figures further than this recomputes every customer (one grouped query).
ROLL_DAYS_MAX = 62
_local = threading.local()


def is_open(status: str, balance: Decimal) -> bool:
    return status in OPEN_STATUSES and balance > 0


def _kept_orgs(org_ids: Iterable[int]) -> set[int]:
    return set(TotalsDate.objects.filter(organisation_id__in=set(org_ids)).values_list("organisation_id", flat=True))


def _states(ids: list[int]) -> dict[int, tuple]:
    """id -> (organisation, customer, due date, issue date, open amount, invoiced amount, in dispute)."""
    found = {}
    for start in range(0, len(ids), CHUNK):
        rows = Invoice.objects.filter(pk__in=ids[start:start + CHUNK]).order_by().values_list(
            "pk", "organisation_id", "customer_id", "due_date", "issue_date", "open_balance", "status", "total")
        for pk, org_id, customer_id, due, issued, balance, status, total in rows:
            open_amount = balance if is_open(status, balance) else None
            invoiced = total if status != InvoiceStatus.CANCELLED else ZERO
            found[pk] = (org_id, customer_id, due, issued, open_amount, invoiced, status == InvoiceStatus.DISPUTED)
    return found


@contextmanager
def tracking(invoice_ids: Iterable[int]) -> Iterator[None]:
    """Keep the totals true across a write of these invoices (any fields; deleted ones too).

    Nested uses are covered by the outermost one."""
    if getattr(_local, "depth", 0):
        yield
        return
    ids = list(invoice_ids)
    _local.depth = 1
    try:
        before = _states(ids)
        yield
    finally:
        _local.depth = 0
    _apply(before, _states(ids))


@contextmanager
def suspended(suspend: bool = True) -> Iterator[None]:
    """No tracking inside (a large import): the caller rebuilds the totals at the end."""
    if not suspend or getattr(_local, "depth", 0):
        yield
        return
    _local.depth = 1
    try:
        yield
    finally:
        _local.depth = 0


def after_import(org, batch_id: int, large: bool) -> None:
    """An import committed its rows: count its new invoices in, or rebuild after a large one."""
    as_of = TotalsDate.objects.filter(organisation_id=org.pk).values_list("as_of", flat=True).first()
    if as_of is None:
        return
    if large:
        rebuild(org, as_of)
    else:
        added(Invoice.objects.filter(organisation=org, source_import_id=batch_id).values_list("pk", flat=True))


def added(invoice_ids: Iterable[int]) -> None:
    """Count these just-written invoices in (the importers' new rows)."""
    _apply({}, _states(list(invoice_ids)))


@transaction.atomic
def _apply(before: dict[int, tuple], after: dict[int, tuple]) -> None:
    kept = _kept_orgs(s[0] for s in (*before.values(), *after.values()))
    if not kept:
        return
    days: dict[tuple[int, date], list] = defaultdict(lambda: [ZERO, 0, ZERO])
    customers: dict[int, set[int]] = defaultdict(set)
    for pk in before.keys() | after.keys():
        old, new = before.get(pk), after.get(pk)
        if old == new:
            continue
        for state, sign in ((old, -1), (new, 1)):
            if state is None or state[0] not in kept:
                continue
            org_id, customer_id, due, issued, open_amount, invoiced, _disputed = state
            if open_amount is not None:
                row = days[(org_id, due)]
                row[0] += sign * open_amount
                row[1] += sign
            if invoiced:
                days[(org_id, issued)][2] += sign * invoiced
            customers[org_id].add(customer_id)
    _add_to_days(days)
    for org_id, ids in customers.items():
        as_of = TotalsDate.objects.values_list("as_of", flat=True).get(organisation_id=org_id)
        _recompute_customers(org_id, sorted(ids), as_of)


def _add_to_days(days: dict[tuple[int, date], list]) -> None:
    rows = [(org_id, day, amount, count, invoiced) for (org_id, day), (amount, count, invoiced) in days.items()
            if amount or count or invoiced]
    if not rows:
        return
    table = connection.ops.quote_name(DayTotals._meta.db_table)
    # An upsert that adds: the one statement both SQLite and PostgreSQL know for it.
    sql = (f"INSERT INTO {table} (organisation_id, day, due_open_amount, due_open_count, invoiced_amount) "
           f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT (organisation_id, day) DO UPDATE SET "
           f"due_open_amount = {table}.due_open_amount + excluded.due_open_amount, "
           f"due_open_count = {table}.due_open_count + excluded.due_open_count, "
           f"invoiced_amount = {table}.invoiced_amount + excluded.invoiced_amount")
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


FIGURES = ("open_amount", "open_count", "overdue_amount", "overdue_count", "overdue_since", "disputed_count")
ZEROS = {"open_amount": ZERO, "open_count": 0, "overdue_amount": ZERO, "overdue_count": 0, "overdue_since": None,
         "disputed_count": 0}


def _write_customer_figures(customers, invoices, as_of: date) -> None:
    """Set the running totals of `customers` from their open `invoices`: zero them, then one UPDATE
    ... FROM the grouped invoices (SQLite 3.33+ and PostgreSQL)."""
    customers.update(**ZEROS)
    overdue = Q(due_date__lt=as_of)
    grouped = (invoices.filter(status__in=OPEN_STATUSES, open_balance__gt=0).order_by().values("customer_id")
               .annotate(open_amount=MoneySum("open_balance"), open_count=Count("id"),
                         overdue_amount=MoneySum("open_balance", filter=overdue),
                         overdue_count=Count("id", filter=overdue), overdue_since=Min("due_date", filter=overdue),
                         disputed_count=Count("id", filter=Q(status=InvoiceStatus.DISPUTED))))
    sql, params = grouped.query.sql_with_params()
    qn = connection.ops.quote_name
    table = qn(Customer._meta.db_table)
    sets = ", ".join(f"{qn(f)} = COALESCE(s.{qn(f)}, {'NULL' if f == 'overdue_since' else 0})" for f in FIGURES)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {sets} FROM ({sql}) s WHERE {table}.{qn('id')} = s.{qn('customer_id')}",
                       params)


def _recompute_customers(org_id: int, customer_ids: list[int], as_of: date) -> None:
    for start in range(0, len(customer_ids), CHUNK):
        ids = customer_ids[start:start + CHUNK]
        # Locked first (in id order): a concurrent writer of the same customer's other invoices waits
        # for this commit, then sums with them in view, instead of overwriting with a stale sum.
        list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        _write_customer_figures(Customer.objects.filter(pk__in=ids), Invoice.objects.filter(customer_id__in=ids),
                                as_of)


@transaction.atomic
def rebuild(org, as_of: date | None = None) -> None:
    """All the organisation's totals from its invoices (grouped queries)."""
    as_of = as_of or timezone.localdate()
    org_id = org.pk
    invoices = Invoice.objects.filter(organisation_id=org_id).order_by()
    days: dict[date, list] = defaultdict(lambda: [ZERO, 0, ZERO])
    for row in (invoices.filter(status__in=OPEN_STATUSES, open_balance__gt=0).values("due_date")
                .annotate(amount=MoneySum("open_balance"), count=Count("id"))):
        days[row["due_date"]][:2] = [row["amount"], row["count"]]
    for row in invoices.exclude(status=InvoiceStatus.CANCELLED).values("issue_date").annotate(amount=MoneySum("total")):
        days[row["issue_date"]][2] = row["amount"]
    DayTotals.objects.filter(organisation_id=org_id).delete()
    DayTotals.objects.bulk_create(
        [DayTotals(organisation_id=org_id, day=day, due_open_amount=a, due_open_count=c, invoiced_amount=i)
         for day, (a, c, i) in days.items()], batch_size=2000)
    _write_customer_figures(Customer.objects.filter(organisation_id=org_id), invoices, as_of)
    TotalsDate.objects.update_or_create(organisation_id=org_id, defaults={"as_of": as_of})


def build_if_missing(org) -> None:
    """Build the organisation's totals if they are not yet (today's open balances are true whatever
    the day the overdue figures are for)."""
    if not _kept_orgs([org.pk]):
        with transaction.atomic():
            if not TotalsDate.objects.select_for_update().filter(organisation_id=org.pk).exists():
                rebuild(org)


def bring_to(org, day: date) -> None:
    """Make the totals current and their overdue figures true as of `day` (a no-op most of the time)."""
    state = TotalsDate.objects.filter(organisation_id=org.pk).values_list("as_of", flat=True).first()
    if state == day:
        return
    with transaction.atomic():
        locked = TotalsDate.objects.select_for_update().filter(organisation_id=org.pk).first()
        if locked is not None and locked.as_of == day:
            return  # another request moved them meanwhile
        if locked is None or abs((day - locked.as_of).days) > ROLL_DAYS_MAX:
            rebuild(org, day)
            return
        low, high = sorted((locked.as_of, day))
        # Customers whose overdue figures differ between the two days: an open invoice due in between.
        moved = (Invoice.objects.filter(organisation=org, due_date__gte=low, due_date__lt=high,
                                        status__in=OPEN_STATUSES, open_balance__gt=0)
                 .order_by().values_list("customer_id", flat=True).distinct())
        _recompute_customers(org.pk, sorted(moved), day)
        locked.as_of = day
        locked.save(update_fields=["as_of"])


# Single rows saved with the ORM (the admin, a form, a fixture) are followed too; the bulk writers
# track explicitly. (No delete signals: a receiver would make Django load every row of a big delete.)
@receiver(pre_save, sender=Invoice)
def _before_invoice_save(sender, instance: Invoice, raw=False, **kwargs) -> None:
    if raw or getattr(_local, "depth", 0):
        instance._totals_before = None
        return
    instance._totals_before = _states([instance.pk]) if instance.pk else {}


@receiver(post_save, sender=Invoice)
def _after_invoice_save(sender, instance: Invoice, raw=False, **kwargs) -> None:
    before = getattr(instance, "_totals_before", None)
    if before is not None and not raw:
        _apply(before, _states([instance.pk]))
