"""The run's writes: the plan the planner made, stored below the ORM (reminders, their lines,
tasks, the invoices' schedules, broken and kept promises, instalments, risk scores).

write_schedules is the one writer of InvoiceSchedule: the daily run, and the actions that move
next dates (after an import, a promise, a dispute, a plan, a pause) all go through it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from relance.accounts.models import Organisation
from relance.audit import events as audit_events
from relance.dunning.models import (
    Instalment,
    InvoiceSchedule,
    Promise,
    PromiseState,
    Reminder,
    ReminderLine,
    ReminderState,
    Task,
    TaskKind,
)
from relance.dunning.numbers import format_money
from relance.dunning.scoring import Risk
from relance.dunning.snapshot import Snapshot
from relance.dunning.state import Advance, CustomerState, DayPlan
from relance.ledger.models import Customer, Invoice
from relance.lib.bulk import BulkInsert, update_rows, upsert_rows
from relance.lib.db import chunks


def close_kept_promises(promise_ids: Iterable[int]) -> None:
    """Mark these open promises kept (the invoice settled, or the promised amount paid)."""
    Promise.objects.filter(pk__in=list(promise_ids)).update(state=PromiseState.KEPT, closed_at=timezone.now())
    audit_events.record_kept_promises(promise_ids)


def write_plan(org: Organisation, today: date, plan: DayPlan, snap: Snapshot) -> int:
    """Write the day's plan: reminders, their lines, the invoices' schedules, broken promises,
    instalments, tasks. Returns the number of tasks created."""
    customers = snap.customers
    if connection.vendor == "postgresql":
        # Check the foreign keys as each statement ends rather than all at commit: with two
        # connections writing, the checks are made by both at once.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    reminder_ids = BulkInsert(Reminder, REMINDER_FIELDS).insert_returning([
        (org.pk, m.customer_id, m.channel, today, m.scenario_code, m.step_code, m.template, m.tone,
         customers[m.customer_id].language, m.registered,
         ReminderState.AWAITING_APPROVAL.value if m.needs_approval else ReminderState.PLANNED.value,
         m.total_due, list(m.other_overdue), m.fallback_from)
        for m in plan.messages
    ])
    by_key = {(m.customer_id, m.channel): pk for m, pk in zip(plan.messages, reminder_ids, strict=True)}
    BulkInsert(ReminderLine, ["reminder_id", "invoice_id", "step_code", "balance", "instalment_id"]).insert([
        (pk, line.invoice_id, line.step_code, line.balance, line.instalment_id)
        for m, pk in zip(plan.messages, reminder_ids, strict=True)
        for line in m.lines
    ])
    write_schedules(org.pk, plan.advances, snap.fresh)
    if plan.broken_promises:
        Promise.objects.filter(pk__in=plan.broken_promises).update(
            state=PromiseState.BROKEN, closed_at=timezone.now()
        )
    for adv in plan.instalment_advances:
        Instalment.objects.filter(pk=adv.instalment_id).update(
            dunning_last_step=adv.last_step, dunning_last_date=adv.last_date
        )
    audit_events.record_plan(org, today, plan, snap, reminder_ids)
    balances = {inv.id: inv.balance for inv in snap.invoices}
    return write_tasks(org, today, plan, customers, by_key, balances)


REMINDER_FIELDS = [
    "organisation_id", "customer_id", "channel", "run_date", "scenario_code", "step_code", "template", "tone",
    "language", "registered", "state", "total_due", "other_invoice_ids", "fallback_from",
]
TASK_FIELDS = [
    "organisation_id", "customer_id", "kind", "title", "due_date", "assignee_id", "step_code", "channel",
    "reminder_id",
]
FIX_LABELS = {"email": gettext_noop("e-mail"), "sms": gettext_noop("mobile (SMS)"), "call": gettext_noop("phone"),
              "letter": gettext_noop("postal address")}


def _task_title(kind: str, customer: CustomerState, n: int, total: Decimal, channel: str, language: str) -> str:
    """A task's title for the collector, in the organisation's language (gettext, amounts by Babel)."""
    amount = format_money(total, language)
    if kind == TaskKind.CALL:
        return _("Call {name}: {n} invoice(s), {amount}").format(name=customer.name, n=n, amount=amount)
    if kind == TaskKind.ESCALATION:
        return _("Escalate {name} ({amount}): order for payment, simplified procedure, collection agency or "
                 "write-off").format(name=customer.name, amount=amount)
    if kind == TaskKind.FIX_CONTACT:
        label = _(FIX_LABELS[channel]) if channel in FIX_LABELS else channel
        return _("Fix the {contact} contact of {name}").format(contact=label, name=customer.name)
    return _("Broken promise to pay: {name} ({n} invoice(s), {amount})").format(name=customer.name, n=n,
                                                                               amount=amount)


def write_tasks(
    org: Organisation,
    today: date,
    plan: DayPlan,
    customers: dict[int, CustomerState],
    by_key: dict[tuple[int, str], int],
    balances: dict[int, Decimal],
) -> int:
    if not plan.tasks:
        return 0
    fix_customers = [t.customer_id for t in plan.tasks if t.kind == TaskKind.FIX_CONTACT]
    open_fixes = set()
    for chunk in chunks(fix_customers):
        open_fixes |= set(
            Task.objects.filter(
                organisation=org, customer_id__in=chunk, kind=TaskKind.FIX_CONTACT, state=Task.State.OPEN
            ).values_list("customer_id", "channel")
        )
    orders, rows = [], []
    language = org.language
    with override(language):  # the titles are for the organisation's collectors
        for order in plan.tasks:
            if order.kind == TaskKind.FIX_CONTACT and (order.customer_id, order.channel) in open_fixes:
                continue  # one open fix-contact task per customer and channel is enough
            customer = customers[order.customer_id]
            total = sum((balances.get(i, Decimal("0")) for i in order.invoice_ids), Decimal("0"))
            orders.append(order)
            rows.append((
                org.pk, order.customer_id, order.kind,
                _task_title(order.kind, customer, len(order.invoice_ids), total, order.channel, language)[:300],
                today, customer.collector_id, order.step_code, order.channel,
                by_key.get((order.customer_id, order.message_channel)) if order.message_channel else None,
            ))
    task_ids = BulkInsert(Task, TASK_FIELDS).insert_returning(rows)
    BulkInsert(Task.invoices.through, ["task_id", "invoice_id"]).insert([
        (pk, iid) for pk, order in zip(task_ids, orders, strict=True) for iid in order.invoice_ids
    ])
    return len(task_ids)


def write_risks(
    org: Organisation, risks: dict[int, Risk], stored: dict[int, tuple] | None = None, using=None
) -> int:
    """Store the recomputed scores of these customers (their reasons quote amounts: a row each).

    With `stored` ((score, segment, reasons) as read), only the scores that changed are written.
    Returns the number of customers written. `using`: the connection, when called from another thread."""
    rows = []
    for cid, risk in risks.items():
        reasons = list(risk.reasons)
        before = stored.get(cid) if stored is not None else None
        if before is not None and before[0] == risk.score and before[1] == risk.segment:
            old = json.loads(before[2]) if isinstance(before[2], str) else before[2]
            if old == reasons:
                continue
        rows.append((risk.score, risk.segment, reasons, cid))
    rows.sort(key=lambda row: row[-1])  # in key order: fewer pages touched between two rows
    update_rows(Customer, ["risk_score", "risk_segment", "risk_reasons"], rows, using)
    return len(rows)



SCHEDULE_FIELDS = ["invoice_id", "organisation_id", "last_step", "last_date", "next_date"]


def write_schedules(org_id: int, advances: Iterable[Advance], unscheduled: Collection[int] | None = None) -> None:
    """Store the invoices' dunning state after these advances.

    An advance with a step done sets the whole state; one without sets the next date only (the
    history stays). An invoice left with no step done and no next date leaves the schedule: should
    it open again, the run finds it among the invoices never scheduled.
    `unscheduled`: those of the invoices that may not be in the schedule yet (None: any of them);
    they are marked scheduled (Invoice.dunning_scheduled).
    """
    # By key, each invoice once (its last advance), in key order: the writes walk the index once.
    by_id = {a.invoice_id: a for a in advances}
    ordered = [by_id[iid] for iid in sorted(by_id)]
    full = [(a.invoice_id, org_id, a.last_step, a.last_date, a.next_date)
            for a in ordered if a.last_step or a.last_date]
    next_only = [(a.invoice_id, org_id, "", None, a.next_date)
                 for a in ordered if not (a.last_step or a.last_date) and a.next_date]
    cleared = [a.invoice_id for a in ordered if not (a.last_step or a.last_date) and a.next_date is None]
    upsert_rows(InvoiceSchedule, SCHEDULE_FIELDS, full, ["last_step", "last_date", "next_date"])
    upsert_rows(InvoiceSchedule, SCHEDULE_FIELDS, next_only, ["next_date"])
    for chunk in chunks(cleared):
        InvoiceSchedule.objects.filter(pk__in=chunk).update(next_date=None)
        gone = list(InvoiceSchedule.objects.filter(pk__in=chunk, last_step="").values_list("pk", flat=True))
        if gone:
            InvoiceSchedule.objects.filter(pk__in=gone).delete()
            Invoice.objects.filter(pk__in=gone).update(dunning_scheduled=False)
    added = sorted({row[0] for row in full} | {row[0] for row in next_only})
    if unscheduled is None:
        # Unknown: read which are not marked yet (an import's hook may name a million invoices).
        unscheduled = set()
        for chunk in chunks(added):
            unscheduled.update(
                Invoice.objects.filter(pk__in=chunk, dunning_scheduled=False).values_list("pk", flat=True)
            )
    update_rows(Invoice, ["dunning_scheduled"], [(True, iid) for iid in added if iid in unscheduled])
