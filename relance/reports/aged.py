"""The aged balance (balance âgée) at any date: what each customer owed on that day, by days past due.

An invoice counts from its issue date; what settled it counts from the settlement's own date: a
payment's date, a credit note's date. A settlement made in the source ledger before the import
("réglé hors Relance", an allocation without a payment) has no date of its own: it counts from the
day Relance recorded it, that is the invoice's import (or the re-import that changed it), in the
organisation's time zone. Cancelled and written-off invoices are left out (their
status carries no date; today's receivables leave them out too).

Two aggregate queries whatever the size of the ledger, each summed per customer and bucket in SQL:
the open balances of today's open invoices, and the allocations made after the date (added back).
Then the names of the customers owing something.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q

from relance.accounts.models import Organisation
from relance.ledger.models import Allocation, AllocationSource, Customer, Invoice, InvoiceStatus
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


def _added_back(org: Organisation, as_of: date):
    """Allocations made after `as_of`, summed per customer and bucket: one UNION ALL of a part per kind
    of allocation, each joining only its own dated table (an OR over all three would join every
    payment of the ledger before filtering)."""
    allocations = (Allocation.objects.filter(invoice__organisation=org, invoice__issue_date__lte=as_of)
                   .exclude(invoice__status__in=LEFT_OUT))
    conditions = bucket_filters(as_of, "invoice__")
    parts = [
        allocations.filter(source=AllocationSource.PAYMENT, payment__date__gt=as_of),
        allocations.filter(source=AllocationSource.CREDIT_NOTE, credit_note__date__gt=as_of),
        allocations.filter(source=AllocationSource.EXTERNAL, created_at__gte=end_of_day(org, as_of)),
    ]
    first, *rest = [_sums(part, "invoice__customer_id", "amount", conditions) for part in parts]
    return first.union(*rest, all=True)


def get_aged_balance(org: Organisation, as_of: date) -> AgedBalance:
    """Each customer's open balance on `as_of` by days past due, customers owing nothing left out.

    An invoice's balance on `as_of` is its open balance today (total − every allocation, kept by
    relance.ledger.balances) plus what was allocated to it after `as_of`: the first sum reads only
    the invoices open today, the second only the allocations made since."""
    invoices = (Invoice.objects.filter(organisation=org, issue_date__lte=as_of, open_balance__gt=0)
                .exclude(status__in=LEFT_OUT))
    owed: dict[int, list[Decimal]] = {}
    for rows, group in ((_sums(invoices, "customer_id", "open_balance", bucket_filters(as_of)), "customer_id"),
                        (_added_back(org, as_of), "invoice__customer_id")):
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
