"""The aged balance (balance âgée) at any date: what each customer owed on that day, by days past due.

An invoice counts from its issue date; what settled it counts from the settlement's own date: a
payment's date, a credit note's date. A settlement made in the source ledger before the import
("réglé hors Relance", an allocation without a payment) has no date of its own: it counts from the
day the invoice was imported into Relance. Cancelled and written-off invoices are left out (their
status carries no date; today's receivables leave them out too).

Two aggregate queries whatever the size of the ledger: the invoices' totals and the allocations'
amounts, each summed per customer and bucket in SQL. A customer's balance in a bucket is the first
minus the second (an invoice's allocations never exceed its total, relance.ledger.balances).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q

from relance.accounts.models import Organisation
from relance.ledger.models import Allocation, AllocationSource, Invoice, InvoiceStatus
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


def settled_by(org: Organisation, as_of: date, prefix: str = "") -> Q:
    """Allocations (reached through `prefix`) already made on `as_of`, each dated as the module says."""
    return (
        Q(**{f"{prefix}source": AllocationSource.PAYMENT, f"{prefix}payment__date__lte": as_of})
        | Q(**{f"{prefix}source": AllocationSource.CREDIT_NOTE, f"{prefix}credit_note__date__lte": as_of})
        | Q(**{f"{prefix}source": AllocationSource.EXTERNAL,
               f"{prefix}invoice__created_at__lt": end_of_day(org, as_of)})
    )


def get_aged_balance(org: Organisation, as_of: date) -> AgedBalance:
    """Each customer's open balance on `as_of` by days past due, customers owing nothing left out."""
    invoices = (Invoice.objects.filter(organisation=org, issue_date__lte=as_of)
                .exclude(status__in=LEFT_OUT))
    on_invoice = bucket_filters(as_of)
    invoiced = (invoices.order_by().values("customer_id", "customer__external_id", "customer__name")
                .annotate(**{f"b{i}": MoneySum("total", filter=on_invoice[key])
                             for i, key in enumerate(BUCKET_KEYS)}))
    on_allocation = bucket_filters(as_of, "invoice__")
    settled = (Allocation.objects
               .filter(invoice__organisation=org, invoice__issue_date__lte=as_of)
               .exclude(invoice__status__in=LEFT_OUT)
               .filter(settled_by(org, as_of))
               .order_by().values("invoice__customer_id")
               .annotate(**{f"b{i}": MoneySum("amount", filter=on_allocation[key])
                            for i, key in enumerate(BUCKET_KEYS)}))
    deducted = {row["invoice__customer_id"]: row for row in settled}
    customers = []
    for row in invoiced:
        less = deducted.get(row["customer_id"], {})
        age = CustomerAge(row["customer_id"], row["customer__external_id"], row["customer__name"])
        for i, key in enumerate(BUCKET_KEYS):
            age.buckets[key] = db_cents(row[f"b{i}"]) - db_cents(less.get(f"b{i}"))
        if any(age.buckets.values()):
            customers.append(age)
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
