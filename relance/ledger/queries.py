"""Reads of the ledger used by the web app, the API and the reports."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q

from relance.accounts.models import Organisation
from relance.ledger.models import Invoice, InvoiceStatus
from relance.lib.money import MoneySum, db_cents

OPEN_STATUSES = [InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID, InvoiceStatus.DISPUTED]

# Aged-balance buckets in days past due: (label, lowest, highest) with None for open ends.
AGE_BUCKETS = [
    ("not_due", None, 0),
    ("d1_30", 1, 30),
    ("d31_60", 31, 60),
    ("d61_90", 61, 90),
    ("d90_plus", 91, None),
]


def list_open_invoices(org: Organisation):
    return Invoice.objects.filter(organisation=org, status__in=OPEN_STATUSES, open_balance__gt=0)


def due_in_bucket(field: str, today: date, low: int | None, high: int | None) -> Q:
    """`field` (a due date) lies between `low` and `high` days past due on `today` (None: open end)."""
    cond = Q()
    if low is not None:
        cond &= Q(**{f"{field}__lte": today - timedelta(days=low)})
    if high is not None:
        cond &= Q(**{f"{field}__gt": today - timedelta(days=high + 1)})
    return cond


def get_aged_balance(org: Organisation, today: date, buckets=AGE_BUCKETS) -> dict[str, Decimal | int]:
    """Open balance per age bucket (days past due), plus the total, in one query.

    Also `count` (open invoices) and `<label>_count` per bucket. `buckets` is a list like AGE_BUCKETS
    (the dashboard splits the oldest one further)."""
    aggregates = {}
    for label, low, high in buckets:
        cond = due_in_bucket("due_date", today, low, high)
        aggregates[label] = MoneySum("open_balance", filter=cond)
        aggregates[f"{label}_count"] = Count("id", filter=cond)
    row = list_open_invoices(org).aggregate(total=MoneySum("open_balance"), count=Count("id"), **aggregates)
    return {k: (v if k == "count" or k.endswith("_count") else db_cents(v)) for k, v in row.items()}
