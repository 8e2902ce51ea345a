"""Collection KPIs over a period [start, end], both days included, each figure an SQL aggregate.

- Receivables on a day: the aged balance of that day (relance.reports.aged): B on the eve of the
  period, E on its last day, C the part of E not yet due.
- Sales S: invoices issued in the period (all taxes included), cancelled ones aside (read from the
  running totals' amount invoiced per day, relance.ledger.totals).
- DSO, simple method: E ÷ S × days of the period.
- DSO, count-back method: E is matched against the sales of the months before the end, the latest
  first: every month whose sales E exceeds counts whole (its days), the month where E runs out counts
  E_left ÷ sales of that month × its days (months end on the period's end day, calendar months when it
  is a month's last day; at most 24 of them, None beyond).
- Average payment delay: the days from due date to payment date of every payment allocation dated in
  the period, weighted by the amount allocated (negative when paid before the due date).
- CEI (collection effectiveness index) = (B + S − E) ÷ (B + S − C) × 100.
- Overdue share: (E − C) ÷ E.
- Promises kept: of the promises whose promised date falls in the period and which are settled one way
  or the other (kept or broken; open and cancelled ones aside), the share kept.
- Reminders that work: per scenario step and channel, of the invoices in the reminders of the period
  (run date in the period, sent), the share paid in full within 7 and within 14 days of the day the
  reminder was sent (the invoice paid now, its last payment or credit note dated from that day to 7 or
  14 days later). An invoice whose 7 or 14 days are not over yet counts in neither share's base.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncDate

from relance.accounts.models import Organisation
from relance.dunning.models import Promise, PromiseState, ReminderLine, ReminderState
from relance.ledger import totals
from relance.ledger.models import Allocation, AllocationSource, DayTotals, InvoiceStatus
from relance.lib.money import MoneySum, db_cents
from relance.reports.aged import AgedTotals, get_aged_totals

COUNT_BACK_MONTHS = 24
WINDOWS = (7, 14)
ONE = Decimal("1")
TENTH = Decimal("0.1")


class DayNumber(Func):
    """A date as a whole number of days (since 1970-01-01): two of them subtract to days between."""

    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(julianday(%(expressions)s) - 2440587.5 AS INTEGER)",
                           **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="((%(expressions)s)::date - DATE '1970-01-01')",
                           **extra_context)


def months_back(day: date, n: int) -> date:
    """The same day `n` calendar months earlier; a month's last day gives that month's last day (so a
    period ending on 30 November counts back whole calendar months)."""
    index = day.year * 12 + day.month - 1 - n
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    month_end = day.day == calendar.monthrange(day.year, day.month)[1]
    return date(year, month + 1, last if month_end else min(day.day, last))


def _invoiced(org: Organisation):
    """The amount invoiced per issue day (cancelled invoices aside), from the running totals."""
    totals.build_if_missing(org)
    return DayTotals.objects.filter(organisation=org).exclude(invoiced_amount=0)


def get_sales(org: Organisation, start: date, end: date) -> Decimal:
    """Invoiced from `start` to `end` included, all taxes included, cancelled invoices aside."""
    return db_cents(_invoiced(org).filter(day__gte=start, day__lte=end)
                    .aggregate(s=MoneySum("invoiced_amount"))["s"])


def list_monthly_sales(org: Organisation, end: date,
                       months: int = COUNT_BACK_MONTHS) -> list[tuple[date, date, Decimal]]:
    """The sales of each month ending on `end`, the latest first: (first day, last day, sales), one query."""
    ends = [months_back(end, n) for n in range(months + 1)]
    windows = [(older + timedelta(days=1), newer) for newer, older in zip(ends, ends[1:], strict=False)]
    row = (_invoiced(org).filter(day__gt=ends[-1], day__lte=end)
           .aggregate(**{f"m{i}": MoneySum("invoiced_amount", filter=Q(day__gte=first, day__lte=last))
                         for i, (first, last) in enumerate(windows)}))
    return [(first, last, db_cents(row[f"m{i}"])) for i, (first, last) in enumerate(windows)]


def dso_simple(receivables: Decimal, sales: Decimal, days: int) -> Decimal | None:
    """Receivables ÷ sales of the period × its days, to the tenth of a day (None without sales)."""
    if sales <= 0:
        return None
    return (receivables / sales * days).quantize(TENTH, rounding=ROUND_HALF_UP)


def dso_count_back(receivables: Decimal, monthly: list[tuple[date, date, Decimal]]) -> Decimal | None:
    """The count-back method over `monthly` (latest month first); None when the months cannot absorb it."""
    left, days = receivables, Decimal(0)
    if left <= 0:
        return Decimal("0.0")
    for first, last, sales in monthly:
        length = (last - first).days + 1
        if left <= sales:
            return (days + left / sales * length).quantize(TENTH, rounding=ROUND_HALF_UP)
        left -= sales
        days += length
    return None


def get_payment_delay(org: Organisation, start: date, end: date) -> Decimal | None:
    """Days from due date to payment, weighted by the amount paid, over payments dated in the period."""
    delay = ExpressionWrapper(DayNumber("payment__date") - DayNumber("invoice__due_date"), output_field=IntegerField())
    row = (Allocation.objects
           .filter(invoice__organisation=org, source=AllocationSource.PAYMENT,
                   payment__date__gte=start, payment__date__lte=end)
           .aggregate(weighted=Sum(ExpressionWrapper(F("amount") * delay, output_field=FloatField())),
                      paid=MoneySum("amount")))
    paid = db_cents(row["paid"])
    if not paid:
        return None
    return (Decimal(str(row["weighted"])) / paid).quantize(TENTH, rounding=ROUND_HALF_UP)


def get_promises(org: Organisation, start: date, end: date) -> dict:
    row = (Promise.objects.filter(organisation=org, promised_date__gte=start, promised_date__lte=end)
           .aggregate(kept=Count("id", filter=Q(state=PromiseState.KEPT)),
                      broken=Count("id", filter=Q(state=PromiseState.BROKEN))))
    settled = row["kept"] + row["broken"]
    return {**row, "share_kept": Decimal(row["kept"]) / settled if settled else None}


@dataclass(frozen=True)
class StepResult:
    scenario: str
    step: str
    channel: str
    invoices: int
    # For each window (7, 14): invoices whose window is over, and those of them paid within it.
    due: dict[int, int]
    paid: dict[int, int]

    def share(self, window: int) -> Decimal | None:
        return Decimal(self.paid[window]) / self.due[window] if self.due[window] else None


def list_reminder_results(org: Organisation, start: date, end: date, today: date) -> list[StepResult]:
    """Per scenario, step and channel: invoices reminded in the period and how many were paid in 7 / 14
    days. Two grouped queries: the counts, then the delays of the lines whose invoice is paid now (the
    settlement date is a subquery per line: only those lines pay for it)."""
    tz = ZoneInfo(org.time_zone)
    today_number = (today - date(1970, 1, 1)).days
    group = ("reminder__scenario_code", "step_code", "reminder__channel")
    lines = (ReminderLine.objects
             .filter(reminder__organisation=org, reminder__run_date__gte=start, reminder__run_date__lte=end,
                     reminder__state=ReminderState.SENT, dropped=False)
             .annotate(sent_day=DayNumber(Coalesce(TruncDate("reminder__sent_at", tzinfo=tz), "reminder__run_date"))))
    over = {w: Q(sent_day__lte=today_number - w) for w in WINDOWS}
    counts = (lines.values(*group)
              .annotate(invoices=Count("id"), **{f"due{w}": Count("id", filter=over[w]) for w in WINDOWS})
              .order_by(*group))
    settled_on = (Allocation.objects
                  .filter(invoice=OuterRef("invoice"), source__in=[AllocationSource.PAYMENT,
                                                                    AllocationSource.CREDIT_NOTE])
                  .order_by().values("invoice")
                  .annotate(last=Max(Coalesce("payment__date", "credit_note__date")))
                  .values("last")[:1])
    paid = (lines.filter(invoice__status=InvoiceStatus.PAID, sent_day__lte=today_number - min(WINDOWS))
            .annotate(delay=ExpressionWrapper(DayNumber(Subquery(settled_on)) - F("sent_day"),
                                              output_field=IntegerField()))
            .values(*group)
            .annotate(**{f"paid{w}": Count("id", filter=over[w] & Q(delay__gte=0, delay__lte=w)) for w in WINDOWS})
            .order_by(*group))
    paid_by_group = {tuple(r[g] for g in group): r for r in paid}
    results = []
    for r in counts:
        key = tuple(r[g] for g in group)
        found = paid_by_group.get(key, {})
        results.append(StepResult(r["reminder__scenario_code"], r["step_code"], r["reminder__channel"], r["invoices"],
                                  {w: r[f"due{w}"] for w in WINDOWS}, {w: found.get(f"paid{w}", 0) for w in WINDOWS}))
    return results


@dataclass(frozen=True)
class Kpis:
    start: date
    end: date
    currency: str
    sales: Decimal
    receivables_start: Decimal
    receivables_end: Decimal
    current_end: Decimal
    dso_simple: Decimal | None
    dso_count_back: Decimal | None
    payment_delay: Decimal | None
    cei: Decimal | None
    overdue_share: Decimal | None
    promises: dict
    reminders: list[StepResult]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def cei(opening: Decimal, sales: Decimal, closing: Decimal, current: Decimal) -> Decimal | None:
    """(B + S − E) ÷ (B + S − C) × 100, to the tenth (None when nothing was to collect)."""
    collectable = opening + sales - current
    if collectable <= 0:
        return None
    return ((opening + sales - closing) / collectable * 100).quantize(TENTH, rounding=ROUND_HALF_UP)


def get_kpis(org: Organisation, start: date, end: date, today: date, closing: AgedTotals | None = None) -> Kpis:
    """Every KPI of the period (a dozen queries, none reading the ledger row by row in Python).

    `closing`: the aged balance on `end` when the caller has it already (the reports page)."""
    if end < start:
        raise ValueError("the period ends before it starts")
    opening = get_aged_totals(org, start - timedelta(days=1)).total
    if closing is None or closing.as_of != end:
        closing = get_aged_totals(org, end)
    sales = get_sales(org, start, end)
    days = (end - start).days + 1
    current = closing.buckets["not_due"]
    return Kpis(
        start=start, end=end, currency=org.currency, sales=sales,
        receivables_start=opening, receivables_end=closing.total, current_end=current,
        dso_simple=dso_simple(closing.total, sales, days),
        dso_count_back=dso_count_back(closing.total, list_monthly_sales(org, end)),
        payment_delay=get_payment_delay(org, start, end),
        cei=cei(opening, sales, closing.total, current),
        overdue_share=(closing.overdue / closing.total) if closing.total else None,
        promises=get_promises(org, start, end),
        reminders=list_reminder_results(org, start, end, today),
    )


def _number(value: Decimal | None, places: Decimal = TENTH) -> str | None:
    return None if value is None else str(value.quantize(places, rounding=ROUND_HALF_UP))


def as_json(k: Kpis) -> dict:
    """The KPIs as `relance kpi --json` writes them: amounts as strings with two decimals, shares as
    strings with four (0.2500 = 25 %), days to the tenth."""
    share = Decimal("0.0001")
    return {
        "from": k.start.isoformat(), "to": k.end.isoformat(), "days": k.days,
        "sales": f"{k.sales:.2f}",
        "receivables_start": f"{k.receivables_start:.2f}", "receivables_end": f"{k.receivables_end:.2f}",
        "not_due_end": f"{k.current_end:.2f}",
        "dso_simple": _number(k.dso_simple), "dso_count_back": _number(k.dso_count_back),
        "payment_delay_days": _number(k.payment_delay),
        "cei": _number(k.cei),
        "overdue_share": _number(k.overdue_share, share),
        "promises": {"kept": k.promises["kept"], "broken": k.promises["broken"],
                     "share_kept": _number(k.promises["share_kept"], share)},
        "reminders": [
            {"scenario": r.scenario, "step": r.step, "channel": r.channel, "invoices": r.invoices,
             **{f"paid_{w}d": r.paid[w] for w in WINDOWS}, **{f"base_{w}d": r.due[w] for w in WINDOWS},
             **{f"share_{w}d": _number(r.share(w), share) for w in WINDOWS}}
            for r in k.reminders
        ],
    }
