"""The dashboard's reads: where the cash is stuck and what is to be done today, each block one SQL
aggregate (the page stays fast on a million invoices: nothing is summed in Python row by row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from relance.accounts.models import Organisation
from relance.dunning.models import Channel, Dispute, Promise, PromiseState, Reminder, ReminderState
from relance.ledger import totals
from relance.ledger.models import Customer, DayTotals, Payment
from relance.ledger.queries import due_in_bucket
from relance.lib.money import MoneySum, db_cents

DSO_DAYS = 90
BROKEN_PROMISES_DAYS = 30
TOP_CUSTOMERS = 10
PROMISES_LISTED = 10
MONTHS = 12

# Days past due: (key, lowest, highest), None for an open end. "Not due" includes invoices due today.
DASHBOARD_BUCKETS = [
    ("not_due", None, 0),
    ("d1_30", 1, 30),
    ("d31_60", 31, 60),
    ("d61_90", 61, 90),
    ("d91_120", 91, 120),
    ("d120_plus", 121, None),
]


@dataclass(frozen=True)
class Bucket:
    key: str
    low: int | None
    high: int | None
    amount: Decimal
    count: int
    share: Decimal | None


@dataclass(frozen=True)
class AgedBalance:
    total: Decimal
    count: int
    buckets: list[Bucket]

    @property
    def overdue(self) -> Decimal:
        return sum((b.amount for b in self.buckets if b.key != "not_due"), Decimal("0.00"))

    @property
    def overdue_count(self) -> int:
        return sum(b.count for b in self.buckets if b.key != "not_due")

    @property
    def overdue_share(self) -> Decimal | None:
        return (self.overdue / self.total) if self.total else None


def get_dashboard_aged_balance(org: Organisation, today: date) -> AgedBalance:
    """Open balance of the open invoices by days past due, from the ledger's totals per due date
    (one query over at most a few thousand days)."""
    totals.bring_to(org, today)
    aggregates = {}
    for key, low, high in DASHBOARD_BUCKETS:
        cond = due_in_bucket("day", today, low, high)
        aggregates[key] = MoneySum("due_open_amount", filter=cond)
        aggregates[f"{key}_count"] = Sum("due_open_count", filter=cond)
    row = DayTotals.objects.filter(organisation=org, due_open_count__gt=0).aggregate(
        total=MoneySum("due_open_amount"), count=Sum("due_open_count"), **aggregates)
    total = db_cents(row["total"])
    buckets = []
    for key, low, high in DASHBOARD_BUCKETS:
        amount = db_cents(row[key])
        buckets.append(Bucket(key, low, high, amount, row[f"{key}_count"] or 0, (amount / total) if total else None))
    return AgedBalance(total=total, count=row["count"] or 0, buckets=buckets)


def _sales_in(org_ref, today: date, days: int):
    return DayTotals.objects.filter(organisation=org_ref, day__gt=today - timedelta(days=days), day__lte=today)


def get_sales(org: Organisation, today: date, days: int = DSO_DAYS) -> Decimal:
    """Invoiced (all taxes included) over the last `days` days, today included; cancelled invoices aside."""
    totals.bring_to(org, today)
    return db_cents(_sales_in(org, today, days).aggregate(sales=MoneySum("invoiced_amount"))["sales"])


def _scalar(queryset, expression):
    """One figure of the organisation's rows, as a subquery (several figures then make one query)."""
    return Subquery(queryset.order_by().values("organisation").annotate(v=expression).values("v")[:1])


def get_counters(org: Organisation, today: date) -> dict:
    """The small figures in one query: sales of the DSO period, promises due today (still open) and
    broken over the last 30 days, open disputes (count and open balance of their invoices)."""
    totals.bring_to(org, today)
    org_ref = OuterRef("pk")
    promises = Promise.objects.filter(organisation=org_ref)
    due = promises.filter(state=PromiseState.OPEN, promised_date=today)
    broken = promises.filter(state=PromiseState.BROKEN,
                             promised_date__gte=today - timedelta(days=BROKEN_PROMISES_DAYS))
    disputes = Dispute.objects.filter(organisation=org_ref, is_open=True)
    row = Organisation.objects.filter(pk=org.pk).values("pk").annotate(
        sales=_scalar(_sales_in(org_ref, today, DSO_DAYS), MoneySum("invoiced_amount")),
        due_count=_scalar(due, Count("id")),
        due_amount=_scalar(due, MoneySum(_promised_amount())),
        broken_count=_scalar(broken, Count("id")),
        broken_amount=_scalar(broken, MoneySum(_promised_amount())),
        dispute_count=_scalar(disputes, Count("id")),
        dispute_amount=_scalar(disputes, MoneySum("invoice__open_balance")),
    ).get()
    return {
        "sales": db_cents(row["sales"]),
        "promises": {"due_count": row["due_count"] or 0, "due_amount": db_cents(row["due_amount"]),
                     "broken_count": row["broken_count"] or 0, "broken_amount": db_cents(row["broken_amount"]),
                     "broken_days": BROKEN_PROMISES_DAYS},
        "disputes": {"count": row["dispute_count"] or 0, "amount": db_cents(row["dispute_amount"])},
    }


def dso(receivables: Decimal, sales: Decimal, days: int = DSO_DAYS) -> Decimal | None:
    """Days sales outstanding, simple method: receivables ÷ sales of the period × days (None without sales)."""
    if sales <= 0:
        return None
    return (receivables / sales * days).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def _month_back(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def list_collected_by_month(org: Organisation, today: date, months: int = MONTHS) -> list[tuple[date, Decimal]]:
    """Payments received per calendar month, the last `months` months up to this one (one query).

    One filtered sum per month rather than a GROUP BY on a truncated date: plain comparisons of the
    date column, where SQLite would call a Python function for every row to truncate it."""
    this_month = today.replace(day=1)
    starts = [_month_back(this_month, n) for n in range(months - 1, -2, -1)]  # one more: the end
    sums = {f"m{i}": MoneySum("amount", filter=Q(date__gte=start, date__lt=end))
            for i, (start, end) in enumerate(zip(starts, starts[1:], strict=False))}
    row = Payment.objects.filter(organisation=org, date__gte=starts[0], date__lt=starts[-1]).aggregate(**sums)
    return [(start, db_cents(row[f"m{i}"])) for i, start in enumerate(starts[:-1])]


@dataclass(frozen=True)
class ChannelLoad:
    channel: str
    label: str
    planned: int
    approved: int
    awaiting: int
    sent: int
    amount: Decimal

    @property
    def count(self) -> int:
        return self.planned + self.awaiting


def list_todays_reminders(org: Organisation, today: date) -> list[ChannelLoad]:
    """Today's run's messages per channel: still to go out (planned, approved ones included, and
    awaiting approval) with the amount they claim, and already sent (one query)."""
    planned = Q(state=ReminderState.PLANNED)
    pending = Q(state__in=[ReminderState.PLANNED, ReminderState.AWAITING_APPROVAL])
    rows = (Reminder.objects
            .filter(organisation=org, run_date=today,
                    state__in=[ReminderState.PLANNED, ReminderState.AWAITING_APPROVAL, ReminderState.SENT])
            .values("channel")
            .annotate(planned=Count("id", filter=planned),
                      approved=Count("id", filter=planned & Q(approved_by__isnull=False)),
                      awaiting=Count("id", filter=Q(state=ReminderState.AWAITING_APPROVAL)),
                      sent=Count("id", filter=Q(state=ReminderState.SENT)),
                      amount=MoneySum("total_due", filter=pending))
            .order_by("channel"))
    order = {value: i for i, value in enumerate(Channel.values)}
    loads = [
        ChannelLoad(r["channel"], _channel_label(r["channel"]), r["planned"], r["approved"], r["awaiting"],
                    r["sent"], db_cents(r["amount"]))
        for r in rows
    ]
    return sorted(loads, key=lambda load: order.get(load.channel, len(order)))


def _channel_label(value: str) -> str:
    try:
        return str(Channel(value).label)
    except ValueError:
        return value


def _promised_amount():
    # A promise without an amount promises the invoice's whole open balance.
    return Coalesce("amount", "invoice__open_balance")


def list_promises_to_follow(org: Organisation, today: date, limit: int = PROMISES_LISTED) -> list[dict]:
    """The promises due today first, then the most recently broken (one query)."""
    due = Q(state=PromiseState.OPEN, promised_date=today)
    broken = Q(state=PromiseState.BROKEN, promised_date__gte=today - timedelta(days=BROKEN_PROMISES_DAYS))
    rows = (Promise.objects.filter(organisation=org).filter(due | broken)
            .annotate(promised=_promised_amount())
            .values("id", "state", "promised_date", "promised", "invoice_id", "invoice__number",
                    "invoice__currency", "invoice__customer_id", "invoice__customer__name")
            .order_by("-promised_date", "invoice__number")[:limit])
    return [{**r, "promised": db_cents(r["promised"]), "broken": r["state"] == PromiseState.BROKEN} for r in rows]


def list_top_overdue_customers(org: Organisation, today: date, limit: int = TOP_CUSTOMERS) -> list[dict]:
    """The customers owing the most past due: overdue amount, invoices, days late of the oldest (the
    customers' totals, read down their overdue index)."""
    totals.bring_to(org, today)
    rows = (Customer.objects.filter(organisation=org, overdue_amount__gt=0)
            .values("pk", "name", "overdue_amount", "overdue_count", "overdue_since")
            .order_by("-overdue_amount", "name", "pk")[:limit])
    return [
        {"pk": r["pk"], "name": r["name"], "overdue": db_cents(r["overdue_amount"]),
         "invoices": r["overdue_count"], "oldest_due": r["overdue_since"],
         "days_late": (today - r["overdue_since"]).days}
        for r in rows
    ]
