"""Dunning writes: promises, disputes, payment plans, pauses, approvals, tasks, next dates, scores.

The daily run itself (plan_today, forecast) lives in relance.dunning.run and is re-exported here.
Every action that changes what an invoice may receive recomputes its indexed next date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.accounts.permissions import WRITE, require
from relance.dunning import queries
from relance.dunning.bulk import big_cache, paused_gc
from relance.dunning.models import (
    Dispute,
    Instalment,
    InvoiceSchedule,
    PaymentPlan,
    Promise,
    PromiseState,
    Reminder,
    ReminderState,
    Task,
    TaskKind,
)
from relance.dunning.planner import next_dates
from relance.dunning.rules import excluded, is_paused
from relance.dunning.run import DunningError, RunResult, forecast, plan_today, write_risks
from relance.dunning.schedules import write_schedules
from relance.dunning.scoring import score
from relance.dunning.state import Advance
from relance.ledger.balances import status_for
from relance.ledger.models import Customer, Invoice, InvoiceStatus

__all__ = [
    "DunningError", "RunResult", "add_payment_plan", "approve_reminder", "cancel_payment_plan", "close_dispute",
    "create_task", "forecast", "open_dispute", "pause_customer", "plan_today", "record_promise",
    "recompute_risk", "refresh_next_dates", "resume_customer", "revalidate_reminder", "skip_reminder",
]

CUSTOMERS_PER_BATCH = 5000


def refresh_next_dates(org: Organisation, invoice_ids: Iterable[int] | None = None, today: date | None = None) -> int:
    """Recompute the indexed next dunning date of these invoices (all the organisation's when None).

    The importer calls it after an import, the actions after a promise, dispute, plan or pause.
    Returns the number of invoices whose next date changed.
    """
    today = today or queries.org_today(org)
    config = queries.get_config(org)
    if not config.scenarios:
        return 0
    # An import hands over up to a million invoices: the same care as the daily run.
    with big_cache(), paused_gc():
        return _refresh_next_dates(org, config, invoice_ids, today)


def _refresh_next_dates(org: Organisation, config, invoice_ids: Iterable[int] | None, today: date) -> int:
    if invoice_ids is None:
        customer_ids = list(Customer.objects.filter(organisation=org).order_by("pk").values_list("pk", flat=True))
        only = None
    else:
        only = set(invoice_ids)
        customer_ids = queries.list_invoice_customers(org, only)
    changed = 0
    for batch in queries.chunks(customer_ids, CUSTOMERS_PER_BATCH):
        customers = queries.load_customers(org, batch)
        invoices = queries.load_invoices(org, batch)
        current = {inv.id: inv.next_date for inv in invoices}
        moved = [
            Advance(a.invoice_id, "", None, a.next_date)  # the next date only: the history stays
            for a in next_dates(config, customers, invoices, today, only)
            if current[a.invoice_id] != a.next_date
        ]
        # Without a schedule row (no step done, no next date): not marked scheduled yet.
        unscheduled = {inv.id for inv in invoices if not inv.last_step and inv.next_date is None}
        write_schedules(org.pk, moved, unscheduled)
        changed += len(moved)
    # Invoices no longer open keep no next date (the run would only clear it later). Read once
    # through the next-date index, then cleared by key: an import may name a million invoices.
    closed = (
        InvoiceSchedule.objects.filter(organisation=org, next_date__isnull=False)
        .exclude(invoice__status__in=queries.ACTIVE_STATUSES, invoice__open_balance__gt=0)
        .order_by()
    )
    if only is not None:
        stale = [pk for pk in closed.values_list("pk", flat=True) if pk in only]
        write_schedules(org.pk, [Advance(pk, "", None, None) for pk in stale])
        changed += len(stale)
    return changed


def _org(obj) -> Organisation:
    return obj.organisation


@transaction.atomic
def record_promise(invoice: Invoice, promised_date: date, amount: Decimal | None = None, user=None) -> Promise:
    """The customer promised to pay (all, or `amount`) by `promised_date`: no reminder until then + grace."""
    require(user, invoice.organisation_id, WRITE)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.open_balance <= 0:
        raise DunningError(f"facture {invoice.number} : déjà soldée, pas de promesse à enregistrer")
    if amount is not None and not (Decimal("0") < amount <= invoice.open_balance):
        raise DunningError(
            f"facture {invoice.number} : montant promis {amount} hors de ]0 ; {invoice.open_balance}]"
        )
    # A new promise replaces the open one.
    Promise.objects.filter(invoice=invoice, state=PromiseState.OPEN).update(
        state=PromiseState.CANCELLED, closed_at=timezone.now()
    )
    promise = Promise.objects.create(
        organisation=invoice.organisation, invoice=invoice, promised_date=promised_date, amount=amount,
        balance_when_made=invoice.open_balance, created_by=user,
    )
    refresh_next_dates(invoice.organisation, [invoice.pk])
    return promise


@transaction.atomic
def open_dispute(invoice: Invoice, reason: str, user=None) -> Dispute:
    """The customer contests the invoice: no reminder while the dispute is open. Idempotent."""
    require(user, invoice.organisation_id, WRITE)
    if not reason.strip():
        raise DunningError(f"facture {invoice.number} : le motif du litige est obligatoire")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    existing = Dispute.objects.filter(invoice=invoice, is_open=True).first()
    if existing is not None:
        return existing
    dispute = Dispute.objects.create(organisation=invoice.organisation, invoice=invoice, reason=reason.strip(),
                                     opened_by=user)
    # Status only, as relance.ledger.balances would (DISPUTED is sticky there): the balance is untouched.
    if invoice.open_balance > 0:
        Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.DISPUTED)
        write_schedules(invoice.organisation_id, [Advance(invoice.pk, "", None, None)])
    return dispute


@transaction.atomic
def close_dispute(invoice_or_dispute: Invoice | Dispute, resolution: str = "", user=None) -> Dispute:
    """Close the open dispute of an invoice; its reminders resume at the scenario's next step."""
    require(user, invoice_or_dispute.organisation_id, WRITE)
    if isinstance(invoice_or_dispute, Dispute):
        dispute = invoice_or_dispute
    else:
        dispute = Dispute.objects.filter(invoice=invoice_or_dispute, is_open=True).first()
        if dispute is None:
            raise DunningError(f"facture {invoice_or_dispute.number} : aucun litige ouvert")
    if not dispute.is_open:
        raise DunningError(f"facture {dispute.invoice.number} : ce litige est déjà clos")
    dispute.is_open = False
    dispute.resolution = resolution
    dispute.closed_at = timezone.now()
    dispute.save(update_fields=["is_open", "resolution", "closed_at"])
    invoice = Invoice.objects.select_for_update().get(pk=dispute.invoice_id)
    if invoice.status == InvoiceStatus.DISPUTED:
        Invoice.objects.filter(pk=invoice.pk).update(status=status_for(invoice.total, invoice.open_balance))
    refresh_next_dates(invoice.organisation, [invoice.pk])
    return dispute


@transaction.atomic
def add_payment_plan(
    customer: Customer,
    invoices: Sequence[Invoice],
    instalments: Sequence[tuple[date, Decimal]],
    note: str = "",
    user=None,
) -> PaymentPlan:
    """Agree instalments for these invoices: the invoices are no longer reminded, the instalments are."""
    require(user, customer.organisation_id, WRITE)
    if not invoices:
        raise DunningError("un échéancier couvre au moins une facture")
    if not instalments:
        raise DunningError("un échéancier a au moins une échéance")
    invoices = list(Invoice.objects.select_for_update().filter(pk__in=[i.pk for i in invoices]).order_by("pk"))
    for inv in invoices:
        if inv.customer_id != customer.pk:
            raise DunningError(f"facture {inv.number} : elle n'est pas au client {customer.external_id}")
        if inv.open_balance <= 0:
            raise DunningError(f"facture {inv.number} : déjà soldée")
    busy = PaymentPlan.invoices.through.objects.filter(
        invoice_id__in=[i.pk for i in invoices], paymentplan__state=PaymentPlan.State.ACTIVE
    ).values_list("invoice__number", flat=True)
    if busy:
        raise DunningError(f"facture(s) {', '.join(sorted(busy))} : déjà dans un échéancier en cours")
    for n, (when, amount) in enumerate(instalments, start=1):
        if amount <= 0:
            raise DunningError(f"échéance {n} du {when} : montant {amount} non positif")
    total = sum((i.open_balance for i in invoices), Decimal("0"))
    planned = sum((amount for _, amount in instalments), Decimal("0"))
    if planned != total:
        raise DunningError(f"les échéances totalisent {planned} mais les factures doivent {total}")
    plan = PaymentPlan.objects.create(organisation=customer.organisation, customer=customer, note=note)
    plan.invoices.set(invoices)
    Instalment.objects.bulk_create(
        Instalment(plan=plan, position=n, due_date=when, amount=amount)
        for n, (when, amount) in enumerate(sorted(instalments), start=1)
    )
    write_schedules(plan.organisation_id, [Advance(i.pk, "", None, None) for i in invoices])
    return plan


@transaction.atomic
def cancel_payment_plan(plan: PaymentPlan, user=None) -> PaymentPlan:
    """End a plan: its invoices go back to their scenario where they were."""
    require(user, plan.organisation_id, WRITE)
    if plan.state != PaymentPlan.State.ACTIVE:
        raise DunningError(f"échéancier {plan.pk} : il n'est pas en cours")
    plan.state = PaymentPlan.State.CANCELLED
    plan.save(update_fields=["state"])
    refresh_next_dates(plan.organisation, list(plan.invoices.values_list("pk", flat=True)))
    return plan


@transaction.atomic
def pause_customer(customer: Customer, until: date, reason: str, user=None) -> Customer:
    """No reminder to this customer until `until` (included)."""
    require(user, customer.organisation_id, WRITE)
    today = queries.org_today(customer.organisation)
    if until < today:
        raise DunningError(f"client {customer.external_id} : la date de fin de pause {until} est passée")
    if not reason.strip():
        raise DunningError(f"client {customer.external_id} : le motif de la pause est obligatoire")
    Customer.objects.filter(pk=customer.pk).update(paused_until=until, pause_reason=reason.strip()[:300])
    customer.paused_until, customer.pause_reason = until, reason.strip()[:300]
    refresh_next_dates(customer.organisation, list(customer.invoices.values_list("pk", flat=True)))
    return customer


@transaction.atomic
def resume_customer(customer: Customer, user=None) -> Customer:
    require(user, customer.organisation_id, WRITE)
    Customer.objects.filter(pk=customer.pk).update(paused_until=None, pause_reason="")
    customer.paused_until, customer.pause_reason = None, ""
    refresh_next_dates(customer.organisation, list(customer.invoices.values_list("pk", flat=True)))
    return customer


def _claim_awaiting(reminder: Reminder, **changes) -> None:
    # Conditional UPDATE: two people approving at once, only one wins; a sent reminder never moves back.
    done = Reminder.objects.filter(pk=reminder.pk, state=ReminderState.AWAITING_APPROVAL).update(**changes)
    if not done:
        reminder.refresh_from_db(fields=["state"])
        raise DunningError(f"relance {reminder.pk} : elle n'attend pas d'approbation (état {reminder.state})")
    for key, value in changes.items():
        setattr(reminder, key, value)


def approve_reminder(reminder: Reminder, user) -> Reminder:
    """Let a reminder that needs approval (formal notice) be sent."""
    require(user, reminder.organisation_id, WRITE)
    _claim_awaiting(reminder, state=ReminderState.PLANNED, approved_by=user)
    return reminder


def skip_reminder(reminder: Reminder, user) -> Reminder:
    """Do not send this reminder; its invoices stay at their step and the scenario goes on."""
    require(user, reminder.organisation_id, WRITE)
    name = getattr(user, "username", "") or "?"
    _claim_awaiting(reminder, state=ReminderState.CANCELLED, approved_by=user, error=f"écartée par {name}")
    return reminder


def create_task(
    customer: Customer,
    kind: str,
    title: str,
    due_date: date | None = None,
    invoices: Iterable[Invoice] = (),
    assignee=None,
    reminder: Reminder | None = None,
    script: str = "",
    step_code: str = "",
    channel: str = "",
    user=None,
) -> Task:
    """Work for a person (call, fix a contact, check a payment...), by default for the customer's collector."""
    require(user, customer.organisation_id, WRITE)
    if kind not in TaskKind.values:
        raise DunningError(f"type de tâche inconnu {kind!r} ; attendu : {', '.join(TaskKind.values)}")
    task = Task.objects.create(
        organisation=customer.organisation, customer=customer, kind=kind, title=title[:300],
        due_date=due_date or queries.org_today(customer.organisation), assignee=assignee or customer.collector,
        reminder=reminder, script=script, step_code=step_code, channel=channel,
    )
    invoices = list(invoices)
    if invoices:
        task.invoices.set(invoices)
    return task


@transaction.atomic
def revalidate_reminder(reminder: Reminder) -> bool:
    """Read the balances again right before sending: drop the lines paid, disputed or promised since
    the run; cancel a reminder left with nothing to claim. True when it is still to be sent."""
    org = reminder.organisation
    config = queries.get_config(org)
    lines = list(reminder.lines.filter(dropped=False).select_related("invoice"))
    states = {s.id: s for s in queries.load_invoices(org, [reminder.customer_id])}
    customer = queries.load_customers(org, [reminder.customer_id]).get(reminder.customer_id)
    paused = customer is not None and is_paused(customer, queries.org_today(org))
    keep, total = [], Decimal("0")
    for line in lines:
        if paused:
            break
        state = states.get(line.invoice_id)
        if line.instalment_id is not None:
            ok = state is not None or line.invoice.open_balance > 0
            balance = line.balance
        else:
            ok = state is not None and not excluded(state, config.policy)
            if ok and state.promise is not None and not line.step_code.startswith("broken-promise"):
                ok = False  # promised since the run
            balance = state.balance if state is not None else Decimal("0")
        if ok:
            keep.append(line.pk)
            total += balance
            if balance != line.balance:
                type(line).objects.filter(pk=line.pk).update(balance=balance)
        else:
            type(line).objects.filter(pk=line.pk).update(dropped=True)
    if not keep:
        Reminder.objects.filter(pk=reminder.pk).update(
            state=ReminderState.CANCELLED,
            error="plus rien à réclamer : factures réglées, contestées ou suspendues depuis la relance",
        )
        reminder.state = ReminderState.CANCELLED
        return False
    Reminder.objects.filter(pk=reminder.pk).update(total_due=total)
    reminder.total_due = total
    return True


def recompute_risk(org: Organisation, customer_ids: Iterable[int] | None = None, today: date | None = None) -> int:
    """Recompute the risk score, segment and reasons of these customers (all when None)."""
    today = today or queries.org_today(org)
    if customer_ids is None:
        customer_ids = Customer.objects.filter(organisation=org).order_by("pk").values_list("pk", flat=True)
    count = 0
    for batch in queries.chunks(list(customer_ids), CUSTOMERS_PER_BATCH):
        invoices = queries.load_invoices(org, batch)
        histories = queries.load_histories(org, batch, queries.overdue_of(invoices, today), today)
        risks = {cid: score(h, today, org.language) for cid, h in histories.items()}
        count += write_risks(org, risks)
    return count
