"""Reads for the commands and pages: today's date of an organisation, the lists they show, the
records they look up. The run's reads (the planner's states) are in relance.dunning.snapshot."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from relance.accounts.models import Organisation
from relance.dunning.models import (
    Dispute,
    PaymentPlan,
    Promise,
    PromiseState,
    RecoveryCost,
    Reminder,
    ReminderState,
)
from relance.ledger.models import Customer, Invoice


def org_today(org: Organisation, now: datetime | None = None) -> date:
    """Today's date in the organisation's time zone."""
    now = now or timezone.now()
    return now.astimezone(ZoneInfo(org.time_zone)).date()


def sent_day(reminder: Reminder) -> date:
    """The day a reminder went out, in its organisation's time zone (its run date if it has no send time)."""
    return org_today(reminder.organisation, reminder.sent_at) if reminder.sent_at else reminder.run_date


# ---- lists for the commands and pages ----


def list_promises(org: Organisation, state: str | None = PromiseState.OPEN):
    qs = Promise.objects.filter(organisation=org).select_related("invoice", "invoice__customer")
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("promised_date", "invoice__number")


def list_disputes(org: Organisation, is_open: bool | None = True):
    qs = Dispute.objects.filter(organisation=org).select_related("invoice", "invoice__customer")
    if is_open is not None:
        qs = qs.filter(is_open=is_open)
    return qs.order_by("opened_at")


def list_plans(org: Organisation, state: str | None = PaymentPlan.State.ACTIVE):
    qs = PaymentPlan.objects.filter(organisation=org).select_related("customer").prefetch_related(
        "instalments", "invoices"
    )
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("created_at")


def list_awaiting_approval(org: Organisation):
    return (
        Reminder.objects.filter(organisation=org, state=ReminderState.AWAITING_APPROVAL)
        .select_related("customer")
        .prefetch_related("lines__invoice")
        .order_by("run_date", "customer__external_id", "channel")
    )


def get_invoice(org: Organisation, number: str) -> Invoice:
    """The organisation's invoice with this number (Invoice.DoesNotExist otherwise)."""
    return Invoice.objects.select_related("customer").get(organisation=org, number=number)


def get_customer(org: Organisation, external_id: str) -> Customer:
    return Customer.objects.get(organisation=org, external_id=external_id)



def list_costs(org: Organisation, customer: Customer | None = None, until: date | None = None):
    """The recovery costs recorded (of one customer; incurred up to `until`), oldest first."""
    rows = RecoveryCost.objects.filter(organisation=org).select_related("customer", "invoice", "created_by")
    if customer is not None:
        rows = rows.filter(customer=customer)
    if until is not None:
        rows = rows.filter(date__lte=until)
    return rows.order_by("date", "pk")
