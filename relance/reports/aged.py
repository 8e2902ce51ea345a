"""The aged balance (balance âgée) at any date: what each customer owed on that day, by days past due.

An invoice counts from its issue date; what settled it counts from the settlement's own date: a
payment's date, a credit note's date. A settlement made in the source ledger before the import
("réglé hors Relance", an allocation without a payment) has no date of its own: it counts from the
day Relance recorded it, that is the invoice's import (or the re-import that changed it), in the
organisation's time zone. Cancelled and written-off invoices are left out (their
status carries no date; today's receivables leave them out too).

`get_aged_balance` (the exports: every customer): two aggregate queries whatever the size of the
ledger, each summed per customer and bucket in SQL: the open balances of today's open invoices, and
the allocations made after the date (added back). Then the names of the customers owing something.

`get_aged_totals` and `get_aged_summary` (the reports page, the KPIs) start from the running totals
(relance.ledger.totals: today's open balance per due day and per customer) and read only what happened
after the date: the invoices issued since (taken off) and the allocations made since (added back). Their
cost follows the activity after the date, not the size of the ledger; for a date before most of the
ledger was invoiced they read the invoices issued by then instead, the fewer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q

from relance.accounts.models import Organisation
from relance.ledger import totals
from relance.ledger.models import Allocation, AllocationSource, Customer, DayTotals, Invoice, InvoiceStatus
from relance.ledger.queries import OPEN_STATUSES, list_open_invoices
from relance.lib.db import chunks
from relance.lib.money import ZERO, MoneySum, db_cents

# Days past due on the report's date: (key, lowest, highest), None for an open end. "Not due"
# includes the invoices due that very day.
BUCKETS: list[tuple[str, int | None, int | None]] = [
    ("not_due", None, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("120+", 121, None),
]
BUCKET_KEYS = [key for key, _, _ in BUCKETS]
LEFT_OUT = [InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF]


@dataclass
class CustomerAge:
    customer_id: int
    external_id: str
    name: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKET_KEYS, ZERO))

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)


@dataclass
class AgedTotals:
    """The organisation's open balance on `as_of` per bucket (no customer detail)."""

    as_of: date
    currency: str
    buckets: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    @property
    def overdue(self) -> Decimal:
        return self.total - self.buckets["not_due"]


@dataclass
class AgedSummary(AgedTotals):
    """The totals plus the customers owing the most on `as_of` and how many owe something."""

    largest: list[CustomerAge] = field(default_factory=list)
    customers_owing: int = 0


@dataclass
class AgedBalance:
    as_of: date
    currency: str
    customers: list[CustomerAge]

    @property
    def buckets(self) -> dict[str, Decimal]:
        return {key: sum((c.buckets[key] for c in self.customers), ZERO) for key in BUCKET_KEYS}

    @property
    def total(self) -> Decimal:
        return sum((c.total for c in self.customers), ZERO)

    @property
    def overdue(self) -> Decimal:
        return self.total - self.buckets["not_due"]


def bucket_filters(as_of: date, prefix: str = "") -> dict[str, Q]:
    """For each bucket, the condition on the due date (`prefix` leads to the invoice)."""
    conditions = {}
    for key, low, high in BUCKETS:
        cond = Q()
        if low is not None:
            cond &= Q(**{f"{prefix}due_date__lte": as_of - timedelta(days=low)})
        if high is not None:
            cond &= Q(**{f"{prefix}due_date__gt": as_of - timedelta(days=high + 1)})
        conditions[key] = cond
    return conditions


def end_of_day(org: Organisation, day: date) -> datetime:
    """The first instant after `day` in the organisation's time zone."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(org.time_zone))


def _sums(queryset, group: str, amount: str, conditions: dict[str, Q]):
    return (queryset.order_by().values(group)
            .annotate(**{f"b{i}": MoneySum(amount, filter=conditions[key]) for i, key in enumerate(BUCKET_KEYS)}))


def _allocated_after(org: Organisation, as_of: date, customer_ids: list[int] | None = None) -> list:
    """The allocations made after `as_of` to invoices issued by then: one queryset per kind of
    allocation, each reached from its own dated table through its index (an OR over the three would
    join every payment of the ledger). With `customer_ids`, only theirs, reached from the customers'
    invoices (the organisation is then implied: filtering on it too would steer the planner away)."""
    allocations = Allocation.objects.filter(invoice__issue_date__lte=as_of).exclude(invoice__status__in=LEFT_OUT)
    if customer_ids is not None:
        allocations = allocations.filter(invoice__customer_id__in=customer_ids)
        owner = {}
    else:
        owner = {"payment": {"payment__organisation": org}, "credit_note": {"credit_note__organisation": org},
                 "external": {"invoice__organisation": org}}
    return [
        allocations.filter(source=AllocationSource.PAYMENT, payment__date__gt=as_of, **owner.get("payment", {})),
        allocations.filter(source=AllocationSource.CREDIT_NOTE, credit_note__date__gt=as_of,
                           **owner.get("credit_note", {})),
        allocations.filter(source=AllocationSource.EXTERNAL, created_at__gte=end_of_day(org, as_of),
                           **owner.get("external", {})),
    ]


def _added_back(org: Organisation, as_of: date, customer_ids: list[int] | None = None):
    """Allocations made after `as_of`, summed per customer and bucket (one UNION ALL)."""
    conditions = bucket_filters(as_of, "invoice__")
    first, *rest = [_sums(part, "invoice__customer_id", "amount", conditions)
                    for part in _allocated_after(org, as_of, customer_ids)]
    return first.union(*rest, all=True)


def get_aged_balance(org: Organisation, as_of: date, customer_ids: list[int] | None = None) -> AgedBalance:
    """Each customer's open balance on `as_of` by days past due, customers owing nothing left out
    (`customer_ids`: only these customers).

    An invoice's balance on `as_of` is its open balance today (total − every allocation, kept by
    relance.ledger.balances) plus what was allocated to it after `as_of`: the first sum reads only
    the invoices open today, the second only the allocations made since."""
    if customer_ids is None:
        invoices = list_open_invoices(org).filter(issue_date__lte=as_of)
    else:  # their invoices, through the customer's index (the organisation is implied)
        invoices = Invoice.objects.filter(customer_id__in=customer_ids, status__in=OPEN_STATUSES, open_balance__gt=0,
                                          issue_date__lte=as_of)
    owed: dict[int, list[Decimal]] = {}
    for rows, group in ((_sums(invoices, "customer_id", "open_balance", bucket_filters(as_of)), "customer_id"),
                        (_added_back(org, as_of, customer_ids), "invoice__customer_id")):
        for row in rows:
            amounts = owed.setdefault(row[group], [ZERO] * len(BUCKET_KEYS))
            for i in range(len(BUCKET_KEYS)):
                amounts[i] += db_cents(row[f"b{i}"])
    owed = {pk: amounts for pk, amounts in owed.items() if any(amounts)}
    customers = []
    for ids in chunks(sorted(owed)):
        for pk, external_id, name in Customer.objects.filter(pk__in=ids).values_list("pk", "external_id", "name"):
            customers.append(CustomerAge(pk, external_id, name, dict(zip(BUCKET_KEYS, owed[pk], strict=True))))
    customers.sort(key=lambda c: (c.name.casefold(), c.external_id))
    return AgedBalance(as_of=as_of, currency=org.currency, customers=customers)


def bucket_of(as_of: date, due: date) -> str:
    """The bucket an invoice due on `due` falls in on `as_of` (BUCKETS' rule, in Python)."""
    late = (as_of - due).days
    for key, low, high in BUCKETS:
        if (low is None or late >= low) and (high is None or late <= high):
            return key
    raise AssertionError(late)  # the buckets cover every number of days


def _changes_since(org: Organisation, as_of: date) -> dict[tuple[int, date], Decimal]:
    """(customer, due date) -> what to add to today's open balances to get those of `as_of`: minus the
    open balances of the invoices issued after `as_of`, plus the allocations made after it."""
    changes: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
    later = (list_open_invoices(org).filter(issue_date__gt=as_of).order_by()
             .values("customer_id", "due_date").annotate(amount=MoneySum("open_balance")))
    for row in later:
        changes[row["customer_id"], row["due_date"]] -= db_cents(row["amount"])
    for part in _allocated_after(org, as_of):
        for row in (part.order_by().values("invoice__customer_id", "invoice__due_date")
                    .annotate(amount=MoneySum("amount"))):
            changes[row["invoice__customer_id"], row["invoice__due_date"]] += db_cents(row["amount"])
    return changes


def _today_by_due_day(org: Organisation) -> list[tuple[date, Decimal]]:
    rows = DayTotals.objects.filter(organisation=org).exclude(due_open_amount=0).values_list("day", "due_open_amount")
    return [(day, db_cents(amount)) for day, amount in rows]


def _mostly_later(org: Organisation, as_of: date) -> bool:
    """Whether most of the ledger was invoiced after `as_of` (judged by its invoicing days, from the
    running totals): then reading the invoices issued by then costs less than those issued since."""
    days = (DayTotals.objects.filter(organisation=org).exclude(invoiced_amount=0)
            .aggregate(later=Count("day", filter=Q(day__gt=as_of)), earlier=Count("day", filter=Q(day__lte=as_of))))
    return days["later"] > days["earlier"]


def _buckets_on(org: Organisation, as_of: date, changes: dict[tuple[int, date], Decimal]) -> dict[str, Decimal]:
    """Today's open balances per due day plus the `changes` since `as_of`, bucketed on `as_of`."""
    buckets = dict.fromkeys(BUCKET_KEYS, ZERO)
    for due, amount in _today_by_due_day(org):
        buckets[bucket_of(as_of, due)] += amount
    for (_, due), amount in changes.items():
        buckets[bucket_of(as_of, due)] += amount
    return buckets


def _largest_first(customers: list[CustomerAge], limit: int) -> list[CustomerAge]:
    return sorted(customers, key=lambda c: (-c.total, c.name.casefold(), c.external_id))[:limit]


def _keep_best(best: list[tuple[Decimal, int]], limit: int) -> None:
    """Sort (amount, id) pairs, largest first, and drop those below the `limit`-th amount (ties for
    the last place are all kept: the caller orders them by name)."""
    best.sort(reverse=True)
    while len(best) > limit and best[limit][0] < best[limit - 1][0]:
        best.pop()


def get_aged_totals(org: Organisation, as_of: date) -> AgedTotals:
    """The organisation's open balance on `as_of` per bucket, from the running totals."""
    totals.build_if_missing(org)
    if _mostly_later(org, as_of):
        return AgedTotals(as_of=as_of, currency=org.currency, buckets=get_aged_balance(org, as_of).buckets)
    return AgedTotals(as_of=as_of, currency=org.currency, buckets=_buckets_on(org, as_of, _changes_since(org, as_of)))


def _largest(org: Organisation, changed: dict[int, Decimal], limit: int) -> tuple[list[tuple[Decimal, int]], int]:
    """The `limit` customers owing the most on the day, as (amount, id), and how many owe something.

    A customer with nothing after the day owes today's open amount (Customer.open_amount): those are
    read down the (organisation, open amount) index and the walk stops below the `limit`-th amount;
    the customers with something after the day (`changed`: their change) are weighed one by one."""
    owing_today = Customer.objects.filter(organisation=org, open_amount__gt=0)
    owing = owing_today.count()
    best = []
    for ids in chunks(sorted(changed)):
        for pk, amount in Customer.objects.filter(pk__in=ids).values_list("pk", "open_amount"):
            owing -= amount > 0
            balance = db_cents(amount) + changed[pk]
            if balance > 0:
                owing += 1
                best.append((balance, pk))
    _keep_best(best, limit)
    walk = owing_today.order_by("-open_amount", "pk").values_list("pk", "open_amount")
    offset, page = 0, max(limit * 2, 100)
    while True:
        rows = list(walk[offset:offset + page])
        for pk, amount in rows:
            amount = db_cents(amount)
            if len(best) >= limit and amount < best[-1][0]:
                return best, owing
            if pk not in changed:
                best.append((amount, pk))
                _keep_best(best, limit)
        if len(rows) < page:
            return best, owing
        offset += page


def get_aged_summary(org: Organisation, as_of: date, limit: int = 50) -> AgedSummary:
    """The totals on `as_of` per bucket, the `limit` customers owing the most (their buckets exact,
    from get_aged_balance on them alone) and the number of customers owing something."""
    totals.build_if_missing(org)
    if _mostly_later(org, as_of):  # few invoices by then: read them all
        aged = get_aged_balance(org, as_of)
        return AgedSummary(as_of=as_of, currency=org.currency, buckets=aged.buckets,
                           largest=_largest_first(aged.customers, limit), customers_owing=len(aged.customers))
    changes = _changes_since(org, as_of)
    per_customer: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for (customer_id, _), amount in changes.items():
        per_customer[customer_id] += amount
    best, owing = _largest(org, per_customer, limit)
    detail = get_aged_balance(org, as_of, [pk for _, pk in best]).customers
    return AgedSummary(as_of=as_of, currency=org.currency, buckets=_buckets_on(org, as_of, changes),
                       largest=_largest_first(detail, limit), customers_owing=owing)


def money_text(amount: Decimal) -> str:
    """An amount as the JSON and CSV exports write it: a plain string with two decimals."""
    return f"{amount:.2f}"


def as_json(aged: AgedBalance) -> dict:
    """The report as `relance aged-balance --format json` writes it (amounts as strings)."""
    return {
        "as_of": aged.as_of.isoformat(),
        "total": money_text(aged.total),
        "buckets": {key: money_text(value) for key, value in aged.buckets.items()},
        "customers": [
            {"customer": c.external_id, "name": c.name, "total": money_text(c.total),
             "buckets": {key: money_text(value) for key, value in c.buckets.items()}}
            for c in aged.customers
        ],
    }
