"""The daily run: load what is due, let the pure planner decide, write reminders, lines, tasks and
the invoices' next dates, then hand the reminders to the channels.

Idempotent: the DunningRun row of (organisation, date) is locked for the whole run, so two runs
started at once go one after the other, and the second one finds every invoice already moved
(its next date is after today) and every (customer, channel) of the day already used.
"""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.dunning import queries
from relance.dunning.models import (
    DunningRun,
    Instalment,
    Promise,
    PromiseState,
    Reminder,
    ReminderLine,
    ReminderState,
    Task,
    TaskKind,
)
from relance.dunning.planner import plan_day, simulate
from relance.dunning.schedules import write_schedules
from relance.dunning.scoring import Risk, score
from relance.dunning.state import Advance, Config, CustomerState, DayPlan, InvoiceState, PlanState
from relance.ledger.models import Customer
from relance.lib.bulk import BulkInsert, update_rows
from relance.lib.db import SecondConnection, big_cache, chunks, in_background, paused_gc

log = logging.getLogger(__name__)


class DunningError(ValueError):
    """A dunning action refused, with a message for the user (French)."""


@dataclass
class RunResult:
    organisation: str
    run_date: date
    dry_run: bool
    messages: list[dict] = field(default_factory=list)
    reminders: int = 0
    awaiting_approval: int = 0
    lines: int = 0
    tasks: int = 0
    advanced: int = 0
    rescheduled: int = 0
    broken_promises: int = 0
    kept_promises: int = 0
    scored: int = 0
    pass_number: int = 1
    delivered: object = None

    def counts(self) -> dict:
        keys = ("reminders", "awaiting_approval", "lines", "tasks", "advanced", "rescheduled", "broken_promises",
                "kept_promises", "scored")
        return {k: getattr(self, k) for k in keys}


@dataclass
class _Loaded:
    config: Config
    customers: dict[int, CustomerState]
    invoices: list[InvoiceState]
    plans: list[PlanState]
    candidates: set[int]
    totals: dict[int, Decimal]
    others: dict[int, list[int]]
    risks: dict[int, Risk]
    stored_risks: dict[int, tuple]  # (score, segment, reasons) as stored: only changes are written
    stale: list[int]  # candidates no longer open: their next date is cleared
    fresh: set[int]  # candidates never scheduled yet (just imported)


def _load(
    org: Organisation,
    today: date,
    closed_promises: frozenset[int] = frozenset(),
    candidates: queries.Candidates | None = None,
    second: SecondConnection | None = None,
) -> _Loaded:
    """What the planner needs. `candidates`: when already listed; `second`: a second connection that
    reads the customers' sums while this one reads the rest."""
    config = queries.get_config(org)
    if not config.scenarios:
        raise DunningError(f"{org.slug} : aucun scénario de relance actif (lancez `relance init`)")
    listed = candidates or queries.list_candidate_invoices(org, today)
    candidates = {iid for iid, _ in listed.pairs}
    plans = queries.load_plans(org)
    customer_ids = {cid for _, cid in listed.pairs} | {p.customer_id for p in plans}
    sums = second.submit(queries.customer_sums, org, customer_ids, today) if second else None
    customers, stored_risks = queries.load_customers_and_risks(org, customer_ids)
    call_steps = frozenset(s.code for sc in config.scenarios.values() for s in sc.steps if s.channel == "call")
    read = queries.load_run_invoices(
        org, candidates, customer_ids, today, call_steps, closed_promises, sums.result() if sums else None
    )
    invoices = read.invoices
    loaded = {inv.id for inv in invoices}
    stale = [iid for iid in candidates if iid not in loaded]
    # The segment decides the scenario: score first, then plan.
    histories = queries.load_histories(org, customer_ids, read.overdue, today)
    risks = {cid: score(h, today, org.language) for cid, h in histories.items()}
    for cid, customer in customers.items():
        risk = risks.get(cid)
        if risk is not None and not customer.segment_locked and risk.segment != customer.segment:
            customers[cid] = replace(customer, segment=risk.segment)
    return _Loaded(
        config, customers, invoices, plans, candidates, read.totals, read.others, risks, stored_risks, stale,
        listed.fresh,
    )


def _plan(loaded: _Loaded, today: date, busy: set[tuple[int, str]]) -> DayPlan:
    return plan_day(
        loaded.config, loaded.customers, loaded.invoices, today, loaded.plans, loaded.candidates, busy, loaded.totals,
        loaded.others,
    )


def summarise(plan: DayPlan, customers: dict[int, CustomerState]) -> list[dict]:
    """The messages as the JSON output shows them, sorted by customer then channel."""
    out = [
        {
            "customer": customers[m.customer_id].external_id,
            "channel": m.channel,
            "step": m.step_code,
            "scenario": m.scenario_code,
            "invoices": [line.number for line in m.lines],
            "total_due": f"{m.total_due:.2f}",
        }
        for m in plan.messages
    ]
    return sorted(out, key=lambda m: (m["customer"], m["channel"]))


def plan_today(org: Organisation, today: date | None = None, dry_run: bool = False, deliver: bool = True) -> RunResult:
    """Run the day's dunning of an organisation (or, with dry_run, say what it would do and write nothing)."""
    today = today or queries.org_today(org)
    with big_cache(), paused_gc():
        result = _run(org, today, dry_run)
    if deliver and not dry_run:
        result.delivered = _deliver(org)
    return result


def _run(org: Organisation, today: date, dry_run: bool) -> RunResult:
    if dry_run:
        kept = frozenset(queries.list_kept_promises(org))
        loaded = _load(org, today, kept)
        busy = set(Reminder.objects.filter(organisation=org, run_date=today).values_list("customer_id", "channel"))
        plan = _plan(loaded, today, busy)
        result = RunResult(org.slug, today, True, summarise(plan, loaded.customers))
        result.kept_promises = len(kept)
        _count(result, plan)
        return result
    # On PostgreSQL, outside a caller's transaction (which a second connection could not see), a
    # large run gets a second connection, with its own transaction and server process: it reads the
    # customers' sums while this one reads the rest, stores the scores while this one plans, then
    # writes half of the customers' reminders while this one writes the other half.
    can_split = (connection.vendor == "postgresql" and not connection.in_atomic_block
                 and settings.RELANCE_RUN_SPLIT_FROM > 0)
    with transaction.atomic():
        run, _ = DunningRun.objects.get_or_create(organisation=org, run_date=today)
        run = DunningRun.objects.select_for_update().get(pk=run.pk)
        kept = queries.list_kept_promises(org)
        Promise.objects.filter(pk__in=kept).update(state=PromiseState.KEPT, closed_at=timezone.now())
        listed = queries.list_candidate_invoices(org, today)
        split = can_split and len(listed.pairs) >= settings.RELANCE_RUN_SPLIT_FROM
        with SecondConnection() if split else nullcontext() as second:
            loaded = _load(org, today, candidates=listed, second=second)
            busy = set(Reminder.objects.filter(organisation=org, run_date=today).values_list("customer_id", "channel"))
            result = _plan_and_write(org, today, loaded, busy, second)
        result.kept_promises = len(kept)
        run.passes += 1
        run.state = DunningRun.State.DONE
        run.finished_at = timezone.now()
        result.pass_number = run.passes
        run.counts = result.counts()
        run.save()
    return result


def _plan_and_write(
    org: Organisation, today: date, loaded: _Loaded, busy: set[tuple[int, str]], second: SecondConnection | None
) -> RunResult:
    # The scores are known before the plan: the database stores them while the planner works, each
    # connection those of the customers it writes for (so that one never waits on the other).
    risks = loaded.risks
    if second:
        second.submit(write_risks, org, {c: r for c, r in risks.items() if c % 2}, loaded.stored_risks)
        risks = {c: r for c, r in risks.items() if not c % 2}
    with in_background(write_risks, org, risks, loaded.stored_risks):
        plan = _plan(loaded, today, busy)
        plan.advances.extend(Advance(iid, "", None, None) for iid in loaded.stale)
        result = RunResult(org.slug, today, False, summarise(plan, loaded.customers))
        _count(result, plan)
    result.scored = len(loaded.risks)
    if second is None:
        result.tasks = _write(org, today, plan, loaded)
        return result
    mine, theirs = split_plan(plan, loaded)
    their_tasks = second.submit(_write, org, today, theirs, loaded)
    result.tasks = _write(org, today, mine, loaded)
    second.commit()  # before this transaction's: a failure there rolls this one back too
    result.tasks += their_tasks.result()
    return result


def split_plan(plan: DayPlan, loaded: _Loaded) -> tuple[DayPlan, DayPlan]:
    """The plan in two halves by customer (odd and even ids), each complete for its customers: a
    customer's messages, lines, invoice advances and tasks are written together, so that either half
    committed alone is a consistent run of its customers (a second pass writes the other half).
    Promises and instalments, few, stay in the first half."""
    customer_of = {inv.id: inv.customer_id for inv in loaded.invoices}
    first = DayPlan(plan.day, broken_promises=plan.broken_promises, instalment_advances=plan.instalment_advances)
    second = DayPlan(plan.day)
    for m in plan.messages:
        (second if m.customer_id % 2 else first).messages.append(m)
    for t in plan.tasks:
        (second if t.customer_id % 2 else first).tasks.append(t)
    for a in plan.advances:
        cid = customer_of.get(a.invoice_id)
        (second if cid is not None and cid % 2 else first).advances.append(a)
    return first, second


def _count(result: RunResult, plan: DayPlan) -> None:
    result.reminders = len(plan.messages)
    result.awaiting_approval = sum(1 for m in plan.messages if m.needs_approval)
    result.lines = sum(len(m.lines) for m in plan.messages)
    result.advanced = sum(1 for a in plan.advances if a.performed)
    result.rescheduled = sum(1 for a in plan.advances if not a.performed)
    result.broken_promises = len(plan.broken_promises)
    result.tasks = len(plan.tasks)


def _deliver(org: Organisation):
    # Sending is the channels' job: queued to the Celery pool when a broker is set, else here.
    from relance.worker import deliver

    return deliver(org)


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


def _write(org: Organisation, today: date, plan: DayPlan, loaded: _Loaded) -> int:
    """Write the plan; returns the number of tasks created."""
    customers = loaded.customers
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
    write_schedules(org.pk, plan.advances, loaded.fresh)
    if plan.broken_promises:
        Promise.objects.filter(pk__in=plan.broken_promises).update(
            state=PromiseState.BROKEN, closed_at=timezone.now()
        )
    for adv in plan.instalment_advances:
        Instalment.objects.filter(pk=adv.instalment_id).update(
            dunning_last_step=adv.last_step, dunning_last_date=adv.last_date
        )
    balances = {inv.id: inv.balance for inv in loaded.invoices}
    return _write_tasks(org, today, plan, customers, by_key, balances)


REMINDER_FIELDS = [
    "organisation_id", "customer_id", "channel", "run_date", "scenario_code", "step_code", "template", "tone",
    "language", "registered", "state", "total_due", "other_invoice_ids", "fallback_from",
]
TASK_FIELDS = [
    "organisation_id", "customer_id", "kind", "title", "due_date", "assignee_id", "step_code", "channel",
    "reminder_id",
]
FIX_LABELS = {"email": "e-mail", "sms": "mobile (SMS)", "call": "téléphone", "letter": "adresse postale"}


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}".replace(",", "\u202f").replace(".", ",") + " €"


def _task_title(kind: str, customer: CustomerState, n: int, total: Decimal, channel: str) -> str:
    if kind == TaskKind.CALL:
        return f"Appeler {customer.name} : {n} facture(s), {_money(total)}"
    if kind == TaskKind.ESCALATION:
        return (f"Escalade {customer.name} ({_money(total)}) : injonction de payer, procédure simplifiée, "
                "agence de recouvrement ou passage en perte")
    if kind == TaskKind.FIX_CONTACT:
        return f"Corriger le contact {FIX_LABELS.get(channel, channel)} de {customer.name}"
    return f"Promesse de paiement non tenue : {customer.name} ({n} facture(s), {_money(total)})"


def _write_tasks(
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
    for order in plan.tasks:
        if order.kind == TaskKind.FIX_CONTACT and (order.customer_id, order.channel) in open_fixes:
            continue  # one open fix-contact task per customer and channel is enough
        customer = customers[order.customer_id]
        total = sum((balances.get(i, Decimal("0")) for i in order.invoice_ids), Decimal("0"))
        orders.append(order)
        rows.append((
            org.pk, order.customer_id, order.kind,
            _task_title(order.kind, customer, len(order.invoice_ids), total, order.channel)[:300],
            today, customer.collector_id, order.step_code, order.channel,
            by_key.get((order.customer_id, order.message_channel)) if order.message_channel else None,
        ))
    task_ids = BulkInsert(Task, TASK_FIELDS).insert_returning(rows)
    BulkInsert(Task.invoices.through, ["task_id", "invoice_id"]).insert([
        (pk, iid) for pk, order in zip(task_ids, orders, strict=True) for iid in order.invoice_ids
    ])
    return len(task_ids)


def forecast(org: Organisation, days: int, start: date | None = None) -> list[DayPlan]:
    """The plans of the coming `days` runs from `start` (today), assuming nothing is paid. Writes nothing."""
    start = start or queries.org_today(org)
    config = queries.get_config(org)
    if not config.scenarios:
        raise DunningError(f"{org.slug} : aucun scénario de relance actif (lancez `relance init`)")
    end = start.toordinal() + days
    listed = queries.list_candidate_invoices(org, date.fromordinal(end))
    plans = queries.load_plans(org)
    customer_ids = {cid for _, cid in listed.pairs} | {p.customer_id for p in plans}
    customers = queries.load_customers(org, customer_ids)
    call_steps = frozenset(s.code for sc in config.scenarios.values() for s in sc.steps if s.channel == "call")
    invoices = queries.load_invoices(org, customer_ids, call_steps, frozenset(queries.list_kept_promises(org)))
    return simulate(config, customers, invoices, start, days, plans)
