"""Dunning writes: promises, disputes, payment plans, pauses, approvals, tasks, next dates, scores.

The daily run itself (plan_today, forecast) lives in relance.dunning.run and is re-exported here.
Every action that changes what an invoice may receive recomputes its indexed next date.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from babel.numbers import format_currency
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relance.accounts.models import Organisation
from relance.accounts.permissions import WRITE, require
from relance.audit import log as audit_log
from relance.dunning import persist, queries, snapshot
from relance.dunning.cost_actions import record_cost, remove_cost
from relance.dunning.models import (
    Dispute,
    DunningRun,
    Instalment,
    InvoiceSchedule,
    Note,
    PaymentPlan,
    Promise,
    PromiseState,
    Reminder,
    ReminderLine,
    ReminderState,
    Task,
    TaskKind,
)
from relance.dunning.persist import write_risks, write_schedules
from relance.dunning.planner import next_dates, plan_day
from relance.dunning.rules import (
    INSTALMENT_SCENARIO,
    fallback_channel,
    hold_reason,
    is_paused,
    next_step,
    tone_template,
)
from relance.dunning.run import DunningError, RunResult, forecast, plan_today
from relance.dunning.scoring import score
from relance.dunning.snapshot_invoices import ACTIVE_STATUSES, load_invoices_by_id
from relance.dunning.state import Advance, DayPlan
from relance.law.late_payment import contract_terms_problem
from relance.ledger import balances
from relance.ledger.balances import allocate, record_payment
from relance.ledger.models import Contact, Customer, InsolvencyKind, Invoice, InvoiceStatus, Payment
from relance.lib.db import big_cache, chunks, paused_gc

__all__ = [
    "DunningError", "RunResult", "add_payment_plan", "approve_reminder", "cancel_payment_plan", "close_dispute",
    "close_insolvency", "fall_back", "open_fix_contact_task", "open_insolvency",
    "create_task", "forecast", "open_dispute", "pause_customer", "plan_today", "record_cost", "record_promise",
    "recompute_risk", "refresh_next_dates", "remove_cost", "resume_customer", "revalidate_reminder", "skip_reminder",
]

CUSTOMERS_PER_BATCH = 5000
# Reminders written but not sent yet.
PENDING_STATES = (ReminderState.PLANNED, ReminderState.AWAITING_APPROVAL, ReminderState.FAILED)


def refresh_next_dates(org: Organisation, invoice_ids: Iterable[int] | None = None, today: date | None = None) -> int:
    """Recompute the indexed next dunning date of these invoices (all the organisation's when None).

    The importer calls it after an import, the actions after a promise, dispute, plan or pause.
    Returns the number of invoices whose next date changed.
    """
    today = today or queries.org_today(org)
    config = snapshot.get_config(org)
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
        customer_ids = snapshot.list_invoice_customers(org, only)
    changed = 0
    for batch in chunks(customer_ids, CUSTOMERS_PER_BATCH):
        customers = snapshot.load_customers(org, batch)
        invoices = snapshot.load_invoices(org, batch)
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
        .exclude(invoice__status__in=ACTIVE_STATUSES, invoice__open_balance__gt=0)
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
    # A date already past would make the next run send a "broken promise" message at once.
    today = queries.org_today(invoice.organisation)
    if promised_date < today:
        raise DunningError(
            f"facture {invoice.number} : date promise {promised_date.isoformat()} déjà passée "
            f"(aujourd'hui : {today.isoformat()})"
        )
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
    audit_log.record("promise.recorded", promise, user)
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
    audit_log.record("dispute.opened", dispute, user)
    # Status only (DISPUTED is sticky in relance.ledger.balances): the balance is untouched.
    if invoice.open_balance > 0:
        balances.set_disputed(invoice, True)
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
    audit_log.record("dispute.closed", dispute, user)
    invoice = Invoice.objects.select_for_update().get(pk=dispute.invoice_id)
    balances.set_disputed(invoice, False)
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
    audit_log.record("plan.added", plan, user, {"invoices": [i.number for i in invoices], "instalments": instalments})
    return plan


@transaction.atomic
def cancel_payment_plan(plan: PaymentPlan, user=None) -> PaymentPlan:
    """End a plan: its invoices go back to their scenario where they were."""
    require(user, plan.organisation_id, WRITE)
    if plan.state != PaymentPlan.State.ACTIVE:
        raise DunningError(f"échéancier {plan.pk} : il n'est pas en cours")
    plan.state = PaymentPlan.State.CANCELLED
    plan.save(update_fields=["state"])
    audit_log.record("plan.cancelled", plan, user)
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
    audit_log.record("customer.paused", customer, user)
    refresh_next_dates(customer.organisation, list(customer.invoices.values_list("pk", flat=True)))
    return customer


@transaction.atomic
def resume_customer(customer: Customer, user=None) -> Customer:
    require(user, customer.organisation_id, WRITE)
    Customer.objects.filter(pk=customer.pk).update(paused_until=None, pause_reason="")
    customer.paused_until, customer.pause_reason = None, ""
    audit_log.record("customer.resumed", customer, user)
    refresh_next_dates(customer.organisation, list(customer.invoices.values_list("pk", flat=True)))
    return customer


def _months_later(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day (31 December + 2 months = 28/29 February)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


@transaction.atomic
def open_insolvency(customer: Customer, judgment_date: date, kind: str = "", user=None) -> Task:
    """The customer is under insolvency proceedings (procédure collective) since `judgment_date`.

    From then on no reminder of any kind for the invoices issued before the judgment (the creditor
    may no longer demand their payment: Code de commerce L622-7, L622-21); they are declared to the
    mandataire judiciaire instead, which a task says, with the claims to declare. Returns that task
    (the open one when the same proceedings are recorded again)."""
    require(user, customer.organisation_id, WRITE)
    org = customer.organisation
    if kind and kind not in InsolvencyKind.values:
        raise DunningError(f"type de procédure {kind!r} inconnu ; attendu : {', '.join(InsolvencyKind.values)}")
    if judgment_date > queries.org_today(org):
        raise DunningError(f"client {customer.external_id} : la date du jugement {judgment_date:%d/%m/%Y} "
                           "est dans le futur")
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    declare_by = _months_later(judgment_date, 2)
    claims = list(customer.invoices.filter(issue_date__lt=judgment_date, open_balance__gt=0,
                                           status__in=ACTIVE_STATUSES).order_by("due_date", "number"))
    # The same judgment recorded again (a re-import, the invoices imported after the customers): its
    # task, open or done, stands; an open one is brought up to date.
    same = Task.objects.filter(customer=customer, kind=TaskKind.DECLARE_CLAIM, due_date=declare_by).exclude(
        state=Task.State.CANCELLED).first()
    if locked.in_insolvency and locked.insolvency_date == judgment_date and same is not None:
        if same.state == Task.State.OPEN:
            same.script = _declaration_note(locked, claims)
            same.assignee_id = same.assignee_id or locked.collector_id  # a collector assigned since
            same.save(update_fields=["script", "assignee"])
            same.invoices.set(claims)
        return same
    existing = Task.objects.filter(customer=customer, kind=TaskKind.DECLARE_CLAIM, state=Task.State.OPEN).first()
    Customer.objects.filter(pk=customer.pk).update(in_insolvency=True, insolvency_date=judgment_date,
                                                   insolvency_kind=kind, updated_at=timezone.now())
    customer.in_insolvency, customer.insolvency_date, customer.insolvency_kind = True, judgment_date, kind
    if existing is not None:
        existing.state = Task.State.CANCELLED
        existing.save(update_fields=["state"])
    task = create_task(
        customer, TaskKind.DECLARE_CLAIM, "Déclarer la créance au mandataire judiciaire",
        due_date=declare_by, invoices=claims, script=_declaration_note(customer, claims),
    )
    audit_log.record("insolvency.opened", customer, user, {"task": task.pk, "invoices": [i.number for i in claims]})
    # What was planned before the judgment and not sent yet: the same rule as any send decides.
    for reminder in Reminder.objects.filter(customer=customer, state__in=PENDING_STATES).select_related(
            "organisation"):
        revalidate_reminder(reminder)
    refresh_next_dates(org, list(customer.invoices.values_list("pk", flat=True)))
    return task


def _declaration_note(customer: Customer, claims: list[Invoice]) -> str:
    judgment = customer.insolvency_date
    total = sum((inv.open_balance for inv in claims), Decimal("0"))
    kind = InsolvencyKind(customer.insolvency_kind).label if customer.insolvency_kind else "procédure collective"
    lines = [
        f"{customer.name} : {kind}, jugement d'ouverture du {judgment:%d/%m/%Y}.",
        "Déclarer les créances nées avant le jugement au mandataire judiciaire dans les deux mois suivant "
        "la publication du jugement au BODACC (Code de commerce, art. R622-24). L'échéance de cette tâche est "
        "calculée depuis la date du jugement : vérifiez la date de publication au BODACC, c'est elle qui fait "
        "courir le délai.",
        "Aucune relance n'est plus envoyée pour ces factures.",
        "",
        f"Créances à déclarer ({len(claims)}) : {format_currency(total, 'EUR', locale='fr_FR')}",
    ]
    lines += [f"- {inv.number} du {inv.issue_date:%d/%m/%Y}, échue le {inv.due_date:%d/%m/%Y} : "
              f"{format_currency(inv.open_balance, inv.currency, locale='fr_FR')}" for inv in claims]
    return "\n".join(lines)


@transaction.atomic
def close_insolvency(customer: Customer, user=None) -> Customer:
    """The proceedings are over (or were recorded by mistake): the customer's invoices follow their
    scenario again. An open declaration task stays: a person closes it when the claim is declared."""
    require(user, customer.organisation_id, WRITE)
    if not Customer.objects.select_for_update().get(pk=customer.pk).in_insolvency:
        raise DunningError(f"client {customer.external_id} : aucune procédure collective en cours")
    Customer.objects.filter(pk=customer.pk).update(in_insolvency=False, insolvency_date=None, insolvency_kind="",
                                                   updated_at=timezone.now())
    customer.in_insolvency, customer.insolvency_date, customer.insolvency_kind = False, None, ""
    audit_log.record("insolvency.closed", customer, user)
    refresh_next_dates(customer.organisation, list(customer.invoices.values_list("pk", flat=True)))
    return customer


def _claim_awaiting(reminder: Reminder, **changes) -> None:
    # Called inside the action's transaction: the change and its audit entry commit together.
    # Conditional UPDATE: two people approving at once, only one wins; a sent reminder never moves back.
    done = Reminder.objects.filter(pk=reminder.pk, state=ReminderState.AWAITING_APPROVAL).update(**changes)
    if not done:
        reminder.refresh_from_db(fields=["state"])
        raise DunningError(f"relance {reminder.pk} : elle n'attend pas d'approbation (état {reminder.state})")
    for key, value in changes.items():
        setattr(reminder, key, value)


@transaction.atomic
def approve_reminder(reminder: Reminder, user) -> Reminder:
    """Let a reminder that needs approval (formal notice) be sent."""
    require(user, reminder.organisation_id, WRITE)
    _claim_awaiting(reminder, state=ReminderState.PLANNED, approved_by=user)
    audit_log.record("reminder.approved", reminder, user)
    return reminder


@transaction.atomic
def skip_reminder(reminder: Reminder, user) -> Reminder:
    """Do not send this reminder; its invoices stay at their step and the scenario goes on."""
    require(user, reminder.organisation_id, WRITE)
    name = getattr(user, "username", "") or "?"
    _claim_awaiting(reminder, state=ReminderState.CANCELLED, approved_by=user, error=f"écartée par {name}")
    audit_log.record("reminder.skipped", reminder, user)
    return reminder


@transaction.atomic
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


# Why a line was dropped right before the send (hold_reason's verdicts), for the cancelled reminder.
HOLD_REASONS = {
    "settled": "réglée",
    "disputed": "contestée",
    "plan": "passée en échéancier",
    "below_minimum": "sous le montant minimum de relance",
    "insolvency": "créance antérieure à l'ouverture d'une procédure collective",
    "portal": "réponse du client sur le portail, à examiner",
    "promise": "couverte par une promesse de paiement",
    "paused": "client en pause",
}
# Messages that confirm what the customer said or did: a promise does not stop them, and a thank-you
# for a payment is about invoices that are paid by definition.
CONFIRMATIONS = frozenset({"call_recap", "payment_plan_confirmation", "statement"})
NO_CHECK = frozenset({"payment_thanks"})


@transaction.atomic
def revalidate_reminder(reminder: Reminder, today: date | None = None) -> bool:
    """Apply the planner's own eligibility rule (rules.hold_reason) again right before the send, on
    the states read now: drop the lines that may no longer be claimed, cancel a reminder left with
    nothing, with the reasons. True when it is still to be sent; `reminder.dropped_now` counts the
    lines dropped."""
    reminder.dropped_now = 0
    if reminder.template in NO_CHECK:
        return True
    org = reminder.organisation
    today = today or queries.org_today(org)
    lines = list(reminder.lines.filter(dropped=False).select_related("invoice"))
    if not lines:
        return True  # a message about no invoice (e.g. a statement asked for): nothing to re-check
    policy = snapshot.get_policy(org)
    others = list(reminder.other_invoice_ids or [])
    states = {s.id: s for s in load_invoices_by_id(org, [line.invoice_id for line in lines] + others)}
    customer = snapshot.load_customers(org, [reminder.customer_id]).get(reminder.customer_id)
    keep, reasons, total = [], [], Decimal("0")
    for line in lines:
        reason, balance = _line_hold(line, states.get(line.invoice_id), customer, today, policy, reminder.template)
        if reason:
            reasons.append(f"{line.invoice.number} : {HOLD_REASONS.get(reason, reason)}")
            type(line).objects.filter(pk=line.pk).update(dropped=True)
            continue
        keep.append(line.pk)
        total += balance
        if balance != line.balance:
            type(line).objects.filter(pk=line.pk).update(balance=balance)
    reminder.dropped_now = len(reasons)
    if not keep:
        reminder.state = ReminderState.CANCELLED
        reminder.error = ("annulée avant l'envoi, plus rien à réclamer : " + " ; ".join(reasons))[:2000]
        Reminder.objects.filter(pk=reminder.pk).update(state=reminder.state, error=reminder.error,
                                                       next_attempt_at=None)
        audit_log.record("reminder.cancelled", reminder)
        return False
    # The other overdue invoices the message lists: the same rule (a claim under insolvency
    # proceedings, disputed or promised since the run is not shown as owed).
    shown = [i for i in others if i in states and customer is not None
             and not hold_reason(states[i], customer, today, policy)]
    if total != reminder.total_due or shown != others:
        Reminder.objects.filter(pk=reminder.pk).update(total_due=total, other_invoice_ids=shown)
        reminder.total_due, reminder.other_invoice_ids = total, shown
    return True


def _line_hold(line, state, customer, today: date, policy, template: str) -> tuple[str, Decimal]:
    """(why this line may not be sent, "" when it may; the balance to claim)."""
    if customer is None:
        return "settled", Decimal("0")
    if line.instalment_id is not None:
        # An instalment: its invoice sits in the plan (held as "plan"); the customer's holds apply.
        if state is None and line.invoice.open_balance <= 0:
            return "settled", Decimal("0")
        if is_paused(customer, today):
            return "paused", line.balance
        if customer.insolvency_date is not None:
            return "insolvency", line.balance
        return "", line.balance
    if state is None:
        return "settled", Decimal("0")  # no longer open
    reason = hold_reason(state, customer, today, policy)
    if reason == "promise" and template in CONFIRMATIONS:
        reason = ""
    return reason, state.balance


@transaction.atomic
def fall_back(reminder: Reminder, reason: str) -> Reminder | None:
    """The customer cannot be reached on this reminder's channel: a task to fix the contact, and its
    lines carried by the next channel that reaches the customer (rules.FALLBACKS, as the planner
    chooses), as a new reminder of the same tone. Returns it, or None when no channel is left."""
    customer = reminder.customer
    open_fix_contact_task(customer, reminder, reminder.channel, reason)
    state = snapshot.load_customers(reminder.organisation, [customer.pk]).get(customer.pk)
    tried = frozenset({reminder.channel, reminder.fallback_from})
    channel = fallback_channel(reminder.channel, state.channels if state else frozenset(), tried)
    lines = reminder.lines.filter(dropped=False)
    if not channel or not lines.exists():
        return None
    if Reminder.objects.filter(customer=customer, channel=channel, run_date=reminder.run_date).exists():
        return None  # that channel already carries a message to the customer on that day
    new = Reminder.objects.create(
        organisation=reminder.organisation, customer=customer, channel=channel, run_date=reminder.run_date,
        scenario_code=reminder.scenario_code, step_code=reminder.step_code, tone=reminder.tone,
        template=tone_template(channel, reminder.tone, reminder.template), language=reminder.language,
        registered=reminder.registered and channel == "letter", total_due=reminder.total_due,
        other_invoice_ids=reminder.other_invoice_ids, approved_by=reminder.approved_by,
        fallback_from=reminder.fallback_from or reminder.channel,
    )
    # The lines move: each (invoice, step) is performed once, by the message that carries it.
    lines.update(reminder=new)
    audit_log.record("reminder.fallback", new, None, {"from_reminder": reminder.pk, "reason": reason})
    Reminder.objects.filter(pk=reminder.pk).update(
        error=f"{reason[:1500]} — relayée par {channel} (relance {new.pk})"
    )
    return new


def recompute_risk(org: Organisation, customer_ids: Iterable[int] | None = None, today: date | None = None) -> int:
    """Recompute the risk score, segment and reasons of these customers (all when None)."""
    today = today or queries.org_today(org)
    if customer_ids is None:
        customer_ids = Customer.objects.filter(organisation=org).order_by("pk").values_list("pk", flat=True)
    count = 0
    for batch in chunks(list(customer_ids), CUSTOMERS_PER_BATCH):
        invoices = snapshot.load_invoices(org, batch)
        histories = snapshot.load_histories(org, batch, snapshot.overdue_of(invoices, today), today)
        risks = {cid: score(h, today, org.language) for cid, h in histories.items()}
        count += write_risks(org, risks)
    return count


# ---- Writes the channels ask for: call outcomes, bounces, registered letters ----------------
# The channel modules parse what came back (a call's outcome, a DSN, a registered-mail number) and
# call these; the writes are here.


@dataclass
class FollowUp:
    """A task a call outcome asks for, about the call's invoices, for whoever had the call."""

    kind: str
    title: str
    due: date
    script: str = ""
    data: dict | None = None  # its outcome_data (a call tried again: the attempt number)


@dataclass
class CallRecord:
    promises: list[Promise] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)


def check_call_task(task: Task) -> None:
    """A call task still open, or DunningError."""
    if task.kind != TaskKind.CALL:
        raise DunningError(f"task {task.pk}: not a call task ({task.kind})")
    if task.state != Task.State.OPEN:
        raise DunningError(f"task {task.pk}: already {task.get_state_display()} ({task.outcome or '-'})")


@transaction.atomic
def record_call_outcome(
    task: Task,
    outcome: str,
    stored: dict,
    *,
    promises: Sequence[tuple[Invoice, date, Decimal | None]] = (),
    disputes: Sequence[tuple[Invoice, str]] = (),
    follow_up: FollowUp | None = None,
    wrong_number: Contact | None = None,
    wrong_reason: str = "",
    user=None,
) -> CallRecord:
    """Close a call task with its outcome (`stored` goes to its outcome_data) and write what the outcome
    asks for: promises, disputes, a follow-up task, the dialled number marked invalid."""
    locked = Task.objects.select_for_update().select_related("customer", "organisation").get(pk=task.pk)
    check_call_task(locked)
    record = CallRecord()
    for invoice, promised, amount in promises:
        record.promises.append(record_promise(invoice, promised, amount=amount, user=user))
    for invoice, reason in disputes:
        record.disputes.append(open_dispute(invoice, reason, user=user))
    if wrong_number is not None:
        invalidate_contact(wrong_number, wrong_reason)
    if follow_up is not None:
        record.tasks.append(_follow_up_task(locked, follow_up))
    locked.outcome = outcome
    locked.outcome_data = {**(locked.outcome_data or {}), **stored}
    locked.state = Task.State.DONE
    locked.done_at = timezone.now()
    locked.save(update_fields=["outcome", "outcome_data", "state", "done_at"])
    task.outcome, task.outcome_data, task.state, task.done_at = (
        locked.outcome, locked.outcome_data, locked.state, locked.done_at
    )
    audit_log.record("call.outcome", locked, user, {"details": stored})
    return record


def _follow_up_task(parent: Task, follow_up: FollowUp) -> Task:
    # The follow-up goes to whoever had the call (or the pool), about the same invoices.
    task = create_task(
        parent.customer, follow_up.kind, follow_up.title, due_date=follow_up.due, invoices=parent.invoices.all(),
        assignee=parent.assignee, reminder=parent.reminder, script=follow_up.script, step_code=parent.step_code,
        channel="call" if follow_up.kind in (TaskKind.CALL, TaskKind.FIX_CONTACT) else "",
    )
    if follow_up.data:
        task.outcome_data = follow_up.data
        task.save(update_fields=["outcome_data"])
    return task


@transaction.atomic
def invalidate_contact(contact: Contact, reason: str) -> bool:
    """Mark a contact invalid, with why (the engine then uses the customer's next channel).
    False when it already was."""
    if not contact.valid:
        return False
    contact.valid = False
    contact.invalid_reason = reason[:500]
    contact.save(update_fields=["valid", "invalid_reason"])
    audit_log.record("contact.invalidated", contact)
    return True


def plan_call_recap(task: Task, today: date, recipient: str, invoices: Sequence[Invoice], language: str):
    """The recap e-mail of a call, planned as an e-mail reminder awaiting approval; None when the
    customer already has an e-mail reminder today (one per channel per day)."""
    customer = task.customer
    try:
        with transaction.atomic():
            reminder = Reminder.objects.create(
                organisation=task.organisation, customer=customer, channel="email", run_date=today,
                scenario_code=customer.scenario.code if customer.scenario_id else "", step_code="call-recap",
                template="call_recap", language=language, state=ReminderState.AWAITING_APPROVAL,
                recipient=recipient,
            )
            ReminderLine.objects.bulk_create([
                ReminderLine(reminder=reminder, invoice=i, step_code=f"call-recap-{task.pk}", balance=i.open_balance)
                for i in invoices
            ])
    except IntegrityError:
        return None
    return reminder


def open_fix_contact_task(customer: Customer, reminder: Reminder | None, channel: str, reason: str) -> Task:
    """A "fix contact" task for the customer's collector (one open task per customer and channel)."""
    existing = Task.objects.filter(
        customer=customer, kind=TaskKind.FIX_CONTACT, state=Task.State.OPEN, channel=channel
    ).first()
    if existing:
        return existing
    title = _("Fix the {channel} contact of {name}: {reason}").format(
        channel=channel, name=customer.name, reason=reason
    )
    return create_task(customer, TaskKind.FIX_CONTACT, title, due_date=timezone.localdate(),
                       assignee=customer.collector, reminder=reminder, channel=channel)


@transaction.atomic
def record_bounce(reminder: Reminder, failures: Sequence[tuple[str, str, str]]) -> list[Contact]:
    """A reminder's e-mail came back for good: each failure is (address, status, description).

    The contacts with a failed address are marked invalid, a "fix contact" task opened, and the
    reminder kept as failed (no retry) with the reason. Returns the contacts made invalid."""
    invalidated, notes = [], []
    for address, status, description in failures:
        notes.append(_("not delivered to {address}: {description}").format(address=address, description=description))
        for contact in Contact.objects.filter(customer=reminder.customer, kind="email", value__iexact=address):
            if invalidate_contact(contact, _("e-mail not delivered ({description})").format(description=description)):
                invalidated.append(contact)
        open_fix_contact_task(reminder.customer, reminder, "email", f"{address} ({status})")
    # Sent, then bounced: it did not reach the customer.
    reminder.state = ReminderState.FAILED
    reminder.next_attempt_at = None
    reminder.error = "; ".join(notes)[:2000]
    reminder.provider_response = (reminder.provider_response + "\nDSN: " + "; ".join(notes)).strip()
    reminder.save(update_fields=["state", "next_attempt_at", "error", "provider_response"])
    audit_log.record("reminder.bounced", reminder, None, {"failures": failures})
    return invalidated


def record_registered_letter(reminder: Reminder, number: str, acknowledged_on: date | None = None) -> Reminder:
    """Store a letter's registered-mail number (and the acknowledgement date once the AR is back)."""
    with transaction.atomic():
        locked = Reminder.objects.select_for_update().get(pk=reminder.pk)
        locked.registered_number = number
        if acknowledged_on is not None:
            locked.acknowledged_on = acknowledged_on
        locked.save(update_fields=["registered_number", "acknowledged_on"])
        audit_log.record("letter.registered", locked, None, {"acknowledged_on": acknowledged_on})
    return locked


@transaction.atomic
def update_registered_status(reminder: Reminder, number: str, acknowledged_on: date | None) -> Reminder:
    """Keep what the registered-mail provider says of a letter: its number, its AR date (when given)."""
    changed = []
    if number and number != reminder.registered_number:
        reminder.registered_number = number
        changed.append("registered_number")
    if acknowledged_on and acknowledged_on != reminder.acknowledged_on:
        reminder.acknowledged_on = acknowledged_on
        changed.append("acknowledged_on")
    if changed:
        reminder.save(update_fields=changed)
        audit_log.record("letter.registered", reminder, None, {"registered_number": reminder.registered_number,
                                                             "acknowledged_on": reminder.acknowledged_on})
    return reminder


# --- web: customer page ---
# The writes of the customer and invoice pages that had no action yet: notes, contacts, a payment
# received and allocated, the next step sent now, a statement of account sent now.


@transaction.atomic
def add_note(customer: Customer, text: str, invoice: Invoice | None = None, user=None) -> Note:
    """A collector's note on the customer's timeline (about one of its invoices, or none)."""
    require(user, customer.organisation_id, WRITE)
    text = text.strip()
    if not text:
        raise DunningError(_("A note needs a text."))
    if invoice is not None and invoice.customer_id != customer.pk:
        raise DunningError(_("Invoice {number} is not this customer's.").format(number=invoice.number))
    note = Note.objects.create(organisation_id=customer.organisation_id, customer=customer, invoice=invoice,
                               author=user, text=text[:5000])
    audit_log.record("note.added", note, user)
    return note


def _checked_contact(contact: Contact) -> Contact:
    # Contact.clean() applies the importer's rule (one address per field); full_clean also checks
    # the kind, the role and that the customer has no other contact with the same value.
    contact.full_clean()
    return contact


@transaction.atomic
def add_contact(customer: Customer, kind: str, value: str, role: str = "billing", name: str = "",
                user=None) -> Contact:
    """A new contact of the customer, checked by Contact.clean() (ValidationError when refused)."""
    require(user, customer.organisation_id, WRITE)
    contact = _checked_contact(Contact(customer=customer, kind=kind, value=value.strip(), role=role,
                                       name=name.strip()))
    contact.save()
    audit_log.record("contact.added", contact, user)
    return contact


@transaction.atomic
def update_contact(contact: Contact, value: str, role: str, name: str = "", valid: bool = True,
                   user=None) -> Contact:
    """Change a contact (checked by Contact.clean()); a contact marked valid again loses its reason."""
    require(user, contact.customer.organisation_id, WRITE)
    contact.value, contact.role, contact.name, contact.valid = value.strip(), role, name.strip(), valid
    if valid:
        contact.invalid_reason = ""
    _checked_contact(contact).save(update_fields=["value", "role", "name", "valid", "invalid_reason"])
    audit_log.record("contact.changed", contact, user)
    return contact


@transaction.atomic
def remove_contact(contact: Contact, user=None) -> None:
    require(user, contact.customer.organisation_id, WRITE)
    audit_log.record("contact.removed", contact, user)
    contact.delete()


@transaction.atomic
def receive_payment(payment: Payment, allocations: Sequence[tuple[Invoice, Decimal]], user=None) -> Payment:
    """A payment received (ledger.balances.record_payment) and allocated to these invoices
    (ledger.balances.allocate), all or nothing; the invoices' next dates follow."""
    require(user, payment.organisation_id, WRITE)
    if sum((amount for _inv, amount in allocations), Decimal("0")) > payment.amount:
        raise DunningError(_("The amounts allocated exceed the payment."))
    record_payment(payment, user=user)
    for invoice, amount in allocations:
        if invoice.customer_id != payment.customer_id:
            raise DunningError(_("Invoice {number} is not this customer's.").format(number=invoice.number))
        allocate(invoice, amount, payment=payment, user=user)
    if allocations:
        refresh_next_dates(payment.organisation, [inv.pk for inv, _amount in allocations])
    return payment


@transaction.atomic
def send_next_step_now(customer: Customer, user=None, today: date | None = None) -> list[Reminder]:
    """Plan today the customer's next due step, whatever its date: what the daily run would plan on
    the day that step falls due, written today by the run's own writer (persist.write_plan), so that
    delivery sends it and the run's keys hold (one step per invoice, one message per customer and
    channel per day). Returns the reminders written (none: DunningError)."""
    require(user, customer.organisation_id, WRITE)
    org = customer.organisation
    today = today or queries.org_today(org)
    config = snapshot.get_config(org)
    if not config.scenarios:
        raise DunningError(_("No active dunning scenario."))
    # The daily run of the day, when it exists, goes first (its lock); the unique keys do the rest.
    DunningRun.objects.select_for_update().filter(organisation=org, run_date=today).first()
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    customers = snapshot.load_customers(org, [customer.pk])
    state = customers[customer.pk]
    invoices = snapshot.load_invoices(org, [customer.pk], snapshot.call_steps(config),
                                      frozenset(snapshot.list_kept_promises(org)))
    # The plan's instalments as the run sees them, minus those already moved today (one step a day).
    plans = [] if is_paused(state, today) or state.insolvency_date is not None else [
        replace(p, instalments=tuple(i for i in p.instalments if i.last_date is None or i.last_date < today))
        for p in snapshot.load_plans(org) if p.customer_id == customer.pk
    ]
    # Held today (paused, promised, disputed...) or already moved today: not sent now.
    ready = [inv for inv in invoices
             if not hold_reason(inv, state, today, config.policy) and (inv.last_date is None or inv.last_date < today)]
    dates = [a.next_date for a in next_dates(config, customers, invoices, today, {inv.id for inv in ready})
             if a.next_date is not None]
    for inst in (i for p in plans for i in p.instalments if i.remaining >= config.policy.min_amount):
        nxt = next_step(INSTALMENT_SCENARIO, inst.due_date, inst.due_date, inst.last_step, inst.last_date, today,
                        config.policy)
        if nxt is not None:
            dates.append(nxt[1])
    if not dates:
        raise DunningError(_("Nothing to send: no step is planned for this customer."))
    day = max(min(dates), today)
    busy = {(cid, channel) for cid, channel in snapshot.list_busy(org, today) if cid == customer.pk}
    # Today's overdue invoices listed in the message, by today's rule (not the step's day's).
    others = {customer.pk: [inv.id for inv in sorted(invoices, key=lambda i: (i.due_date, i.number))
                            if inv.due_date < today and not hold_reason(inv, state, today, config.policy)]}
    found = plan_day(config, customers, invoices, day, plans, {inv.id for inv in ready}, busy, None, others)
    if not found.messages:
        raise DunningError(_("Nothing to send: the next step is already planned today."))
    plan = DayPlan(
        today, messages=found.messages, tasks=found.tasks, broken_promises=found.broken_promises,
        advances=[replace(a, last_date=today) for a in found.advances if a.performed],
        instalment_advances=[replace(a, last_date=today) for a in found.instalment_advances],
    )
    fresh = set(Invoice.objects.filter(customer=customer, dunning_scheduled=False).values_list("pk", flat=True))
    snap = snapshot.Snapshot(config, customers, invoices, plans, {inv.id for inv in ready}, {}, others, {}, {},
                             [], fresh)
    persist.write_plan(org, today, plan, snap)
    # The next dates as of today (the plan gave them as of the step's day).
    refresh_next_dates(org, [a.invoice_id for a in plan.advances], today)
    return list(Reminder.objects.filter(customer=customer, run_date=today,
                                        channel__in=[m.channel for m in plan.messages]).order_by("channel"))


@transaction.atomic
def send_statement_now(customer: Customer, user=None, today: date | None = None) -> Reminder:
    """An e-mail with the customer's statement of account (template `statement`), planned today for
    delivery: the open invoices as its lines. One e-mail per customer per day, as any reminder."""
    require(user, customer.organisation_id, WRITE)
    org = customer.organisation
    today = today or queries.org_today(org)
    invoices = list(Invoice.objects.filter(customer=customer, open_balance__gt=0, status__in=ACTIVE_STATUSES)
                    .order_by("due_date", "number"))
    if not invoices:
        raise DunningError(_("Nothing to state: the customer owes nothing."))
    if Reminder.objects.filter(customer=customer, channel="email", run_date=today).exists():
        raise DunningError(_("This customer already has an e-mail today: the statement can go tomorrow."))
    reminder = Reminder.objects.create(
        organisation=org, customer=customer, channel="email", run_date=today,
        scenario_code=customer.scenario.code if customer.scenario_id else "", step_code="statement",
        template="statement", language=customer.language or org.language, approved_by=user,
        total_due=sum((inv.open_balance for inv in invoices), Decimal("0")),
    )
    ReminderLine.objects.bulk_create([
        ReminderLine(reminder=reminder, invoice=inv, step_code=f"statement-{reminder.pk}", balance=inv.open_balance)
        for inv in invoices
    ])
    audit_log.record("reminder.planned", reminder, user, {"invoices": [i.number for i in invoices]})
    return reminder

# --- web: customers list ---

from relance.accounts.permissions import allows, role_of  # noqa: E402 - this block's own imports, kept with it

KEEP = object()  # assign_customers: leave this field as it is


@transaction.atomic
def assign_customers(org: Organisation, customer_ids: Iterable[int], scenario=KEEP, collector=KEEP, user=None) -> int:
    """Give these customers of the organisation a scenario and/or a collector (None: back to the
    scenario rules / nobody). Returns how many customers were changed.

    The scenario must be one of the organisation's, the collector a member who may write (an owner or a
    collector). The invoices' next dates follow a new scenario."""
    require(user, org, WRITE)
    changes: dict = {}
    if scenario is not KEEP:
        if scenario is not None and scenario.organisation_id != org.pk:
            raise DunningError(_("this scenario is not one of the organisation's"))
        changes["scenario"] = scenario
    if collector is not KEEP:
        if collector is not None and not (role_of(collector, org) and allows(collector, org, WRITE)):
            raise DunningError(_("%(user)s may not collect for this organisation") % {"user": collector})
        changes["collector"] = collector
    ids = sorted({int(pk) for pk in customer_ids})
    if not changes or not ids:
        return 0
    customers = Customer.objects.filter(organisation=org, pk__in=ids)
    changed = customers.update(updated_at=timezone.now(), **changes)
    audit_log.record_many(org, [audit_log.event("customer.assigned", c, user) for c in customers])
    if "scenario" in changes:
        invoice_ids = Invoice.objects.filter(
            organisation=org, customer_id__in=ids, status__in=ACTIVE_STATUSES
        ).values_list("pk", flat=True)
        refresh_next_dates(org, list(invoice_ids))
    return changed


# --- web: today ---
# Channels whose text a person may rewrite before approving (a call's script is not a message).
EDITABLE_CHANNELS = ("email", "sms", "letter")


@transaction.atomic
def edit_reminder(reminder: Reminder, subject: str, body_text: str, user) -> Reminder:
    """Rewrite the subject and text of a reminder awaiting approval; who and when are kept, and the
    channels send this text instead of the template's (relance.channels.base.edited_text)."""
    require(user, reminder.organisation_id, WRITE)
    if reminder.channel not in EDITABLE_CHANNELS:
        raise DunningError(f"relance {reminder.pk} : le texte d'un {reminder.get_channel_display()} ne se modifie pas")
    body_text = (body_text or "").replace("\r\n", "\n").strip()
    if not body_text:
        raise DunningError(f"relance {reminder.pk} : le texte ne peut pas être vide")
    _claim_awaiting(reminder, subject=" ".join((subject or "").split())[:500], body_text=body_text, body_html="",
                    edited_by=user, edited_at=timezone.now())
    audit_log.record("reminder.edited", reminder, user, {"subject": reminder.subject, "body_text": body_text})
    return reminder


@transaction.atomic
def close_task(task: Task, user, note: str = "") -> Task:
    """Mark a task done (a contact fixed, a payment checked…); a call is closed with its outcome instead."""
    require(user, task.organisation_id, WRITE)
    locked = Task.objects.select_for_update().get(pk=task.pk)
    if locked.kind == TaskKind.CALL:
        raise DunningError(f"tâche {task.pk} : un appel se clôt avec son résultat")
    if locked.state != Task.State.OPEN:
        raise DunningError(f"tâche {task.pk} : déjà {locked.get_state_display()}")
    locked.state, locked.done_at, locked.outcome = Task.State.DONE, timezone.now(), "done"
    locked.outcome_data = {**(locked.outcome_data or {}), "closed_by": getattr(user, "username", ""),
                           **({"note": note.strip()} if note.strip() else {})}
    locked.save(update_fields=["state", "done_at", "outcome", "outcome_data"])
    audit_log.record("task.closed", locked, user)
    task.state, task.done_at, task.outcome, task.outcome_data = (
        locked.state, locked.done_at, locked.outcome, locked.outcome_data
    )
    return task


# --- law ---


@transaction.atomic
def set_contract_rate(customer: Customer, mode: str, value: Decimal | None, user=None) -> Customer:
    """The late-payment rate agreed with this customer ("" mode: the organisation's terms of sale)."""
    require(user, customer.organisation_id, WRITE)
    value = None if not mode else value
    problem = contract_terms_problem(mode, value)
    if problem:
        raise DunningError(f"client {customer.external_id} : {problem}")
    Customer.objects.filter(pk=customer.pk).update(late_rate_mode=mode, late_rate_value=value)
    customer.late_rate_mode, customer.late_rate_value = mode, value
    audit_log.record("customer.late_rate", customer, user, {"late_rate_mode": mode, "late_rate_value": value})
    return customer


# --- dossier / escalation ---
# The write-off proposal of an escalation step (relance.channels.escalation): the owner's one click.
from relance.accounts.permissions import SETTINGS  # noqa: E402 - this block's own imports, kept with it

WRITE_OFF_KIND = "write_off"


@transaction.atomic
def write_off_invoices(task: Task, user) -> list[Invoice]:
    """Write off the invoices of a write-off proposal (owners only): status written_off (their open
    balance stays: the amount lost), the task done, a note on the timeline, no more reminders."""
    require(user, task.organisation_id, SETTINGS)
    locked = Task.objects.select_for_update().select_related("customer", "organisation").get(pk=task.pk)
    if locked.kind != TaskKind.ESCALATION or (locked.outcome_data or {}).get("escalation") != WRITE_OFF_KIND:
        raise DunningError(f"tâche {task.pk} : pas une proposition de passage en perte")
    if locked.state != Task.State.OPEN:
        raise DunningError(f"tâche {task.pk} : déjà {locked.get_state_display()}")
    invoices = list(locked.invoices.filter(open_balance__gt=0, status__in=ACTIVE_STATUSES).order_by("number"))
    ids = [inv.pk for inv in invoices]
    balances.write_off(ids)
    total = sum((inv.open_balance for inv in invoices), Decimal("0"))
    name = getattr(user, "username", "") or "?"
    locked.state, locked.done_at, locked.outcome = Task.State.DONE, timezone.now(), "written_off"
    locked.outcome_data = {**(locked.outcome_data or {}), "closed_by": name,
                           "written_off": [inv.number for inv in invoices], "written_off_total": str(total)}
    locked.save(update_fields=["state", "done_at", "outcome", "outcome_data"])
    task.state, task.done_at, task.outcome, task.outcome_data = (
        locked.state, locked.done_at, locked.outcome, locked.outcome_data)
    Note.objects.create(organisation=locked.organisation, customer=locked.customer, author=user,
                        text=f"Passage en perte par {name} : " + ", ".join(inv.number for inv in invoices)
                        + f" ({total} {invoices[0].currency if invoices else ''})".rstrip())
    refresh_next_dates(locked.organisation, ids)
    for inv in invoices:
        inv.status = InvoiceStatus.WRITTEN_OFF  # as balances.write_off wrote it
    return invoices
