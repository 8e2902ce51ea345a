"""The reads of the customer and invoice pages: key figures computed by the database, the invoices
with the status each shows (relance.dunning.labels.invoice_page_status, on rules.hold_reason) and
their next planned step, the customer's contacts. No writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery

from relance.dunning import labels, rules
from relance.dunning.models import (
    Dispute,
    PaymentPlan,
    Promise,
    PromiseState,
    ReminderLine,
    ReminderState,
    Step,
)
from relance.dunning.snapshot import get_config, load_customers
from relance.dunning.snapshot_invoices import ACTIVE_STATUSES, refused_notice_lines
from relance.dunning.state import Config, InvoiceState
from relance.dunning.state import PromiseState as PromiseSpec
from relance.ledger.models import Customer, Invoice
from relance.lib.money import MoneySum, db_cents

OPEN_SHOWN = 200  # open invoices listed on the customer page (the figures count them all)
PAID_PER_PAGE = 20
LATENESS_SAMPLE = 200  # paid invoices the average lateness is computed on (the latest ones)
_OPEN = Q(status__in=ACTIVE_STATUSES, open_balance__gt=0)


def get_customer(org, pk: int) -> Customer:
    """The organisation's customer (Customer.DoesNotExist otherwise), with its scenario."""
    return Customer.objects.select_related("scenario").get(organisation=org, pk=pk)


@dataclass
class Figures:
    total_due: Decimal
    overdue: Decimal
    open_count: int
    overdue_count: int
    avg_days_late: Decimal | None
    paid_count: int


def get_figures(customer: Customer, today: date) -> Figures:
    """What the customer owes and how late it pays: two aggregate queries."""
    overdue = _OPEN & Q(due_date__lt=today)
    sums = Invoice.objects.filter(customer=customer).aggregate(
        total_due=MoneySum("open_balance", filter=_OPEN), overdue=MoneySum("open_balance", filter=overdue),
        open_count=Count("pk", filter=_OPEN), overdue_count=Count("pk", filter=overdue),
    )
    late = [(paid_on - due).days for due, paid_on in _paid_dates(customer) if paid_on is not None]
    avg = (Decimal(sum(late)) / len(late)).quantize(Decimal("0.1")) if late else None
    return Figures(db_cents(sums["total_due"]), db_cents(sums["overdue"]), sums["open_count"], sums["overdue_count"],
                   avg, len(late))


def _paid_dates(customer: Customer) -> list[tuple[date, date | None]]:
    """(due date, date of the last payment or credit note) of the latest paid invoices."""
    rows = (
        Invoice.objects.filter(customer=customer, status="paid")
        .annotate(paid=Max("allocations__payment__date"), credited=Max("allocations__credit_note__date"))
        .order_by("-due_date")
        .values_list("due_date", "paid", "credited")[:LATENESS_SAMPLE]
    )
    out = []
    for due, paid, credited in rows:
        days = [d for d in (paid, credited) if d is not None]
        out.append((due, _as_date(max(days)) if days else None))
    return out


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _invoice_rows(queryset):
    """Invoices as dicts, with their schedule, open dispute, open promise and active plan: one query."""
    promise = Promise.objects.filter(invoice=OuterRef("pk"), state=PromiseState.OPEN)
    return queryset.annotate(
        disputed=Exists(Dispute.objects.filter(invoice=OuterRef("pk"), is_open=True)),
        promise_id=Subquery(promise.values("pk")[:1]),
        promise_date=Subquery(promise.values("promised_date")[:1]),
        in_plan=Exists(PaymentPlan.invoices.through.objects.filter(
            invoice=OuterRef("pk"), paymentplan__state=PaymentPlan.State.ACTIVE)),
        # A formal notice of it waits for approval: it is at the formal stage already.
        awaiting_formal=Exists(ReminderLine.objects.filter(
            invoice=OuterRef("pk"), dropped=False, reminder__state=ReminderState.AWAITING_APPROVAL,
            reminder__tone="formal")),
        notice_refused=Exists(refused_notice_lines().filter(invoice=OuterRef("pk"))),
    ).values(
        "pk", "customer_id", "number", "issue_date", "due_date", "currency", "total", "open_balance", "status",
        "document", "schedule__last_step", "schedule__last_date", "schedule__next_date", "disputed", "promise_id",
        "promise_date", "in_plan", "awaiting_formal", "notice_refused",
    )


def _state(row: dict) -> InvoiceState:
    promise = None
    if row["promise_id"] is not None:
        promise = PromiseSpec(row["promise_id"], _as_date(row["promise_date"]))
    return InvoiceState(
        id=row["pk"], customer_id=row["customer_id"], number=row["number"], issue_date=row["issue_date"],
        due_date=row["due_date"], balance=db_cents(row["open_balance"]), status=row["status"],
        last_step=row["schedule__last_step"] or "", last_date=row["schedule__last_date"],
        next_date=row["schedule__next_date"], disputed=bool(row["disputed"]), promise=promise,
        in_plan=bool(row["in_plan"]), notice_refused=bool(row["notice_refused"]),
    )


class Statuses:
    """Computes each invoice's page status and next step for one customer on one day."""

    def __init__(self, org, customer: Customer, today: date, total_due: Decimal, config: Config | None = None):
        self.today = today
        self.names = step_names(org)
        self.config = config or get_config(org)
        self.policy = self.config.policy
        # The planner's own reading of the customer (pause, insolvency, scenario): no second copy of it here.
        self.customer = load_customers(org, [customer.pk])[customer.pk]
        self.scenario = (rules.choose_scenario(self.customer, total_due, self.config)
                         if self.config.scenarios else None)
        self.formal_steps = {s.code for sc in self.config.scenarios.values() for s in sc.steps if s.tone == "formal"}

    def row(self, row: dict) -> dict:
        inv = _state(row)
        formal = inv.last_step in self.formal_steps or bool(row["awaiting_formal"])
        status = labels.invoice_page_status(inv, self.customer, self.today, self.policy, formal)
        row.update(
            balance=inv.balance, total=db_cents(row["total"]), status_key=status,
            status_label=labels.page_status_label(status), status_badge=labels.PAGE_STATUS_BADGES[status],
            days_late=max((self.today - inv.due_date).days, 0) if inv.balance > 0 else 0,
            next_step=None, next_step_name="", next_date=inv.next_date, last_step=inv.last_step,
            last_date=inv.last_date,
        )
        if inv.next_date is not None and self.scenario is not None and status != "settled":
            nxt = rules.invoice_next(inv, self.scenario, self.today, self.policy)
            row["next_step"] = nxt[0].code if nxt else None
        row["next_step_name"] = self.names.get(row["next_step"], row["next_step"] or "")
        return row


def list_open_invoices(statuses: Statuses, customer: Customer) -> list[dict]:
    """The open invoices (the oldest due first, OPEN_SHOWN at most), each with its status and next step."""
    qs = Invoice.objects.filter(_OPEN, customer=customer).order_by("due_date", "number")
    return [statuses.row(r) for r in _invoice_rows(qs)[:OPEN_SHOWN]]


def list_closed_invoices(statuses: Statuses, customer: Customer, page: int) -> tuple[list[dict], bool]:
    """One page of the paid, cancelled or written-off invoices (the latest due first), and whether
    there are more."""
    start = (max(page, 1) - 1) * PAID_PER_PAGE
    qs = Invoice.objects.filter(customer=customer).exclude(_OPEN).order_by("-due_date", "-number")
    rows = list(_invoice_rows(qs)[start:start + PAID_PER_PAGE + 1])
    return [statuses.row(r) for r in rows[:PAID_PER_PAGE]], len(rows) > PAID_PER_PAGE


def get_invoice_row(statuses: Statuses, invoice: Invoice) -> dict:
    return statuses.row(_invoice_rows(Invoice.objects.filter(pk=invoice.pk)).get())


def next_action(rows: list[dict]) -> dict | None:
    """The customer's next planned step: the open invoice whose scheduled next date comes first."""
    planned = [r for r in rows if r["next_date"] is not None and r["status_key"] not in ("settled",)]
    return min(planned, key=lambda r: (r["next_date"], r["number"]), default=None)


def step_names(org) -> dict[str, str]:
    """Step code → its name (the first scenario's when several share a code)."""
    names: dict[str, str] = {}
    for code, name in Step.objects.filter(scenario__organisation=org).order_by("scenario_id", "position") \
            .values_list("code", "name"):
        names.setdefault(code, name)
    return names
