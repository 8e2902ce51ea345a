"""Reads of the Today page: what the next send delivers, what waits for approval, the calls to make
and the contacts to fix. One query per list and per kind of detail, never one per row."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import DecimalField, F, Q, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils.functional import cached_property

from relance.accounts.models import Organisation
from relance.channels.base import DeliveryError, Outgoing
from relance.channels.context import build_context
from relance.channels.delivery import _due  # the sender's own "due now" condition, not a copy of it
from relance.channels.registry import get_channel
from relance.dunning.models import Reminder, ReminderState, Task, TaskKind
from relance.ledger.models import MONEY, Contact
from relance.lib.money import MoneySum

PAGE_SIZE = 20
CALLS_PAGE_SIZE = 10
LAST_REMINDERS = 3
CENT = Decimal("0.01")
MONEY_FIELD = DecimalField(**MONEY)


def _amount(value) -> Decimal:
    # SQLite sums decimals as floats: back to cents before showing or comparing.
    return Decimal(str(value or 0)).quantize(CENT)


class _CountedPaginator(Paginator):
    """Counts with another (plainer) queryset: the count of an annotated one wraps its aggregate."""

    def __init__(self, queryset, size: int, counted):
        super().__init__(queryset, size)
        self._counted = counted

    @cached_property
    def count(self) -> int:
        return self._counted.count()


def _page(queryset, number, size: int, counted=None) -> Page:
    paginator = Paginator(queryset, size) if counted is None else _CountedPaginator(queryset, size, counted)
    return paginator.get_page(number)


# --- 1. what the next send delivers ----------------------------------------------------------


def list_outbox(org: Organisation, today: date, now: datetime, page=1) -> Page:
    """Reminders the sender would claim now (delivery._due), run date today or before, oldest first
    (the sender's order), each with `contacts`: the customer's valid contacts of the channel's kind."""
    reminders = (
        Reminder.objects.filter(_due(now), organisation=org, run_date__lte=today)
        .select_related("customer")
        .only("id", "channel", "run_date", "state", "recipient", "total_due", "step_code", "template", "tone",
              "registered", "fallback_from", "attempts", "error", "approved_by_id", "edited_at",
              "customer__id", "customer__name", "customer__external_id", "customer__address_line1",
              "customer__postcode", "customer__city")
        .order_by("id")
    )
    page = _page(reminders, page, PAGE_SIZE)
    _attach_contacts(page.object_list)
    return page


def _attach_contacts(reminders) -> None:
    kinds = {r.channel: get_channel(r.channel).needs_contact for r in reminders}
    customer_ids = {r.customer_id for r in reminders}
    found = defaultdict(list)
    if customer_ids:
        for contact in (Contact.objects.filter(customer_id__in=customer_ids, kind__in=set(kinds.values()), valid=True)
                        .order_by("id").only("customer_id", "kind", "value", "name")):
            found[(contact.customer_id, contact.kind)].append(contact)
    for reminder in reminders:
        reminder.contacts = found[(reminder.customer_id, kinds[reminder.channel])]


@dataclass
class Preview:
    """The message as the sender would render it now, or why it cannot be."""

    message: Outgoing | None = None
    error: str = ""
    unreachable: bool = False

    @property
    def attachments(self) -> list[str]:
        return [a.name for a in self.message.attachments if not a.content_id] if self.message else []


def render_preview(reminder: Reminder, today: date) -> Preview:
    """Render a reminder with the sender's code (build_context, then the channel's render); nothing is saved."""
    try:
        message = get_channel(reminder.channel).render(reminder, build_context(reminder, today=today))
    except DeliveryError as exc:
        return Preview(error=exc.message, unreachable=exc.unreachable)
    return Preview(message=message)


def get_reminder(org: Organisation, pk: int, states=None) -> Reminder | None:
    """One of the organisation's reminders, with what rendering it needs."""
    found = Reminder.objects.filter(organisation=org, pk=pk).select_related(
        "organisation", "customer", "customer__collector", "edited_by", "approved_by")
    if states is not None:
        found = found.filter(state__in=states)
    return found.first()


def letter_pdf(reminder: Reminder, today: date) -> bytes:
    """The letter's PDF as the letter channel renders it for the send (DeliveryError when it cannot)."""
    message = get_channel("letter").render(reminder, build_context(reminder, today=today))
    return next(a.content for a in message.attachments if a.mimetype == "application/pdf")


# --- 2. the approval queue -------------------------------------------------------------------


def list_approvals(org: Organisation, page=1) -> Page:
    """Reminders awaiting a person's approval (formal notices, call recaps), oldest first."""
    reminders = (
        Reminder.objects.filter(organisation=org, state=ReminderState.AWAITING_APPROVAL)
        .select_related("customer", "edited_by")
        .only("id", "channel", "run_date", "state", "recipient", "total_due", "step_code", "template", "tone",
              "registered", "error", "subject", "edited_at", "customer__id", "customer__name",
              "customer__external_id", "edited_by__id", "edited_by__username")
        .order_by("run_date", "id")
    )
    return _page(reminders, page, PAGE_SIZE)


# --- 3. the calls to make --------------------------------------------------------------------


@dataclass
class Call:
    task: Task
    at_risk: Decimal
    phones: list = field(default_factory=list)
    invoices: list = field(default_factory=list)
    last_reminders: list = field(default_factory=list)


def list_calls(org: Organisation, today: date, page=1) -> Page:
    """Open call tasks due today or before, the largest amount at risk first (the open balances of
    the task's invoices), each as a Call with the phones, the invoices and the last reminders sent."""
    at_risk = Coalesce(MoneySum("invoices__open_balance", filter=Q(invoices__open_balance__gt=0)), Decimal(0),
                       output_field=MONEY_FIELD)
    open_calls = Task.objects.filter(organisation=org, kind=TaskKind.CALL, state=Task.State.OPEN,
                                     due_date__lte=today)
    # Ranked on narrow rows (id, amount), then the page's tasks read whole: the wide columns (scripts)
    # never go through the grouping and the sort.
    ranked = open_calls.annotate(at_risk=at_risk).order_by("-at_risk", "due_date", "id").values_list("id", "at_risk")
    page = _page(ranked, page, CALLS_PAGE_SIZE, counted=open_calls)
    risks = dict(page.object_list)
    tasks = (Task.objects.filter(pk__in=list(risks)).select_related("customer", "assignee")
             .only("id", "title", "due_date", "script", "outcome_data", "customer__id", "customer__name",
                   "customer__external_id", "assignee__id", "assignee__username").in_bulk())
    for pk, task in tasks.items():
        task.at_risk = risks[pk]
    page.object_list = _calls([tasks[pk] for pk in risks])
    return page


def _calls(tasks: list[Task]) -> list[Call]:
    calls = [Call(task, _amount(task.at_risk)) for task in tasks]
    if not calls:
        return calls
    by_task = {call.task.pk: call for call in calls}
    customer_ids = {task.customer_id for task in tasks}
    links = (Task.invoices.through.objects.filter(task_id__in=by_task)
             .select_related("invoice")
             .only("task_id", "invoice__id", "invoice__number", "invoice__due_date", "invoice__open_balance",
                   "invoice__total", "invoice__currency", "invoice__status")
             .order_by("invoice__due_date", "invoice__number"))
    for link in links:
        by_task[link.task_id].invoices.append(link.invoice)
    phones = defaultdict(list)
    for contact in (Contact.objects.filter(customer_id__in=customer_ids, kind="phone")
                    .order_by("-valid", "id").only("id", "customer_id", "value", "name", "role", "valid")):
        phones[contact.customer_id].append(contact)
    last = defaultdict(list)
    recent = (Reminder.objects.filter(customer_id__in=customer_ids, state=ReminderState.SENT)
              .annotate(rank=Window(RowNumber(), partition_by=[F("customer_id")],
                                    order_by=[F("sent_at").desc(nulls_last=True), F("id").desc()]))
              .filter(rank__lte=LAST_REMINDERS).order_by("rank")
              .only("id", "customer_id", "channel", "step_code", "sent_at", "run_date", "total_due"))
    for reminder in recent:
        last[reminder.customer_id].append(reminder)
    for call in calls:
        call.phones = phones[call.task.customer_id]
        call.last_reminders = last[call.task.customer_id]
    return calls


def get_call_task(org: Organisation, pk: int) -> Task | None:
    return Task.objects.filter(organisation=org, pk=pk, kind=TaskKind.CALL).first()


# --- 4. contacts to fix ----------------------------------------------------------------------


def list_fix_contacts(org: Organisation, page=1) -> Page:
    """Open "fix the contact" tasks, the oldest due first."""
    tasks = (
        Task.objects.filter(organisation=org, kind=TaskKind.FIX_CONTACT, state=Task.State.OPEN)
        .select_related("customer")
        .only("id", "title", "due_date", "channel", "customer__id", "customer__name", "customer__external_id")
        .order_by("due_date", "id")
    )
    return _page(tasks, page, PAGE_SIZE)


def get_fix_contact_task(org: Organisation, pk: int) -> Task | None:
    return Task.objects.filter(organisation=org, pk=pk, kind=TaskKind.FIX_CONTACT).first()

