"""The run's reads: the database turned into the planner's plain states (a Snapshot), with no
writes. The invoices' side is in relance.dunning.snapshot_invoices; the lists the commands and
pages show are in relance.dunning.queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.dunning.models import (
    Dispute,
    InvoiceSchedule,
    PaymentPlan,
    Promise,
    PromiseState,
    Reminder,
    Scenario,
    ScenarioRule,
)
from relance.dunning.rules import spread_plan_payments
from relance.dunning.scoring import History, OpenInvoice, Overdue, PaidInvoice, Risk, score, summarise_overdue
from relance.dunning.snapshot_invoices import (
    ACTIVE_SQL,
    as_decimal,
    customer_sums,
    load_invoices,
    load_run_invoices,
    sql_in,
)
from relance.dunning.state import (
    Config,
    CustomerState,
    InstalmentState,
    InvoiceState,
    PlanState,
    Policy,
    RuleSpec,
    ScenarioSpec,
    StepSpec,
)
from relance.ledger.models import Allocation, Contact, CreditNote, Customer, Invoice, InvoiceStatus, Payment
from relance.lib import phones
from relance.lib.addresses import is_complete_address, is_complete_block
from relance.lib.db import SecondConnection, chunks


def get_policy(org: Organisation) -> Policy:
    """The organisation's thresholds, as the planner's rules read them."""
    return Policy(min_amount=org.min_reminder_amount, small_amount_threshold=org.small_amount_threshold)


def get_config(org: Organisation) -> Config:
    """The organisation's active scenarios, rules and thresholds, as planner data."""
    scenarios: dict[str, ScenarioSpec] = {}
    for scenario in Scenario.objects.filter(organisation=org, active=True).prefetch_related("steps"):
        steps = tuple(
            StepSpec.build(
                s.code, s.position, s.offset_days, s.channel, s.options, template=s.template, tone=s.tone,
                anchor=s.anchor, needs_approval=s.needs_approval, registered=s.registered,
                min_gap_days=s.min_gap_days,
            )
            for s in sorted(scenario.steps.all(), key=lambda s: s.position)
        )
        scenarios[scenario.code] = ScenarioSpec(scenario.code, steps, name=scenario.name)
    rules = tuple(
        RuleSpec(r.condition, r.value, r.scenario.code)
        for r in ScenarioRule.objects.filter(organisation=org).select_related("scenario").order_by("position")
    )
    return Config(scenarios=scenarios, rules=rules, policy=get_policy(org))


def is_mobile(number: str, country: str = "FR") -> bool:
    """The SMS channel's own rule (relance.lib.phones): the planner never picks an SMS it would refuse."""
    return phones.is_mobile(number, country)


def load_customers(org: Organisation, customer_ids: Iterable[int]) -> dict[int, CustomerState]:
    """The customers, with the channels their valid contacts allow."""
    return load_customers_and_risks(org, customer_ids)[0]


def load_customers_and_risks(
    org: Organisation, customer_ids: Iterable[int]
) -> tuple[dict[int, CustomerState], dict[int, tuple]]:
    """The customers as load_customers gives them, and their stored (score, segment, reasons), so
    that the run writes only the scores that changed. Plain SQL: the ORM's per-row cost shows on a
    large run."""
    ids = list(customer_ids)
    sqlite = connection.vendor == "sqlite"
    qn = connection.ops.quote_name
    customer_table, contact_table = qn(Customer._meta.db_table), qn(Contact._meta.db_table)
    scenario_table = qn(Scenario._meta.db_table)
    channels: dict[int, set[str]] = {}
    numbers: dict[int, list[str]] = {}  # read with the customer's country, once its row is read
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for chunk in chunks(ids):
            # By primary key only: an organisation filter makes SQLite scan the table.
            ids_sql, params = sql_in("c.id", chunk)
            cursor.execute(
                "SELECT c.id, c.external_id, c.name, c.kind, c.strategic, c.risk_segment, c.risk_segment_override, "
                "s.code, s.active, c.paused_until, c.collector_id, c.address_line1, c.postcode, c.city, c.language, "
                f"c.risk_score, c.risk_reasons, c.country, c.in_insolvency, c.insolvency_date FROM {customer_table} c "
                f"LEFT JOIN {scenario_table} s ON s.id = c.scenario_id WHERE {ids_sql}",
                params,
            )
            rows.extend(cursor.fetchall())
            ids_sql, params = sql_in("customer_id", chunk)
            cursor.execute(
                f"SELECT customer_id, kind, value FROM {contact_table} WHERE {ids_sql} AND valid = %s",
                [*params, True],
            )
            for cid, kind, value in cursor.fetchall():
                have = channels.setdefault(cid, set())
                if kind == "email":
                    have.add("email")
                elif kind == "phone":
                    have.add("call")
                    numbers.setdefault(cid, []).append(value)
                elif kind == "postal" and is_complete_block(value):  # the letter channel's rule
                    have.add("letter")
    out, risks = {}, {}
    for (cid, ext, name, kind, strategic, segment, override, scenario_code, scenario_active, paused, collector,
         line1, postcode, city, language, risk_score, reasons, country, insolvent, judgment) in rows:
        have = channels.get(cid, set())
        if any(is_mobile(number, country) for number in numbers.get(cid, ())):
            have.add("sms")
        if is_complete_address(line1, postcode, city):  # the letter channel's rule
            have.add("letter")
        if sqlite and isinstance(paused, str):
            paused = date.fromisoformat(paused)
        if sqlite and isinstance(judgment, str):
            judgment = date.fromisoformat(judgment)
        out[cid] = CustomerState(
            id=cid, external_id=ext, name=name, kind=kind, strategic=bool(strategic), segment=override or segment,
            scenario_code=scenario_code if scenario_code and scenario_active else "", paused_until=paused,
            channels=frozenset(have), collector_id=collector, language=language, segment_locked=bool(override),
            # Under proceedings with no judgment date known: every invoice counts as an earlier claim.
            insolvency_date=(judgment or date.max) if insolvent else None,
        )
        risks[cid] = (risk_score, segment, reasons)
    return out, risks


def list_invoice_customers(org: Organisation, invoice_ids: Iterable[int]) -> list[int]:
    """The customers (sorted ids) of these invoices of the organisation."""
    found: set[int] = set()
    table = connection.ops.quote_name(Invoice._meta.db_table)
    with connection.cursor() as cursor:
        for chunk in chunks(sorted(invoice_ids)):
            ids_sql, params = sql_in("id", chunk)
            # By primary key only (an organisation filter makes SQLite walk the organisation's
            # invoices for every chunk): the organisation is checked here.
            cursor.execute(f"SELECT customer_id, organisation_id FROM {table} WHERE {ids_sql}", params)
            found.update(cid for cid, org_id in cursor.fetchall() if org_id == org.pk)
    return sorted(found)



@dataclass
class Candidates:
    """The invoices a run examines: (invoice id, customer id) pairs, and which of them were never
    scheduled."""

    pairs: list[tuple[int, int]]
    fresh: set[int]


def unscheduled_sql() -> str:
    """(id, customer id) of an organisation's open invoices never scheduled. Written out as the
    `invoice_unscheduled` partial index states its condition, literals included: SQLite uses a
    partial index only for a query that repeats its terms (bound parameters do not count)."""
    table = connection.ops.quote_name(Invoice._meta.db_table)
    return (f"SELECT id, customer_id FROM {table} WHERE organisation_id = %s AND NOT dunning_scheduled "
            f"AND status IN {ACTIVE_SQL} AND open_balance > 0")


def list_candidate_invoices(org: Organisation, today: date) -> Candidates:
    """The invoices a run on `today` must examine: those whose next date has come (read through the
    schedule's `schedule_next_date` index), and the open ones never scheduled (just imported: the
    `invoice_unscheduled` partial index)."""
    # No ORDER BY: a default ordering would make the database prefer another index and walk more.
    due = (
        InvoiceSchedule.objects.filter(organisation=org, next_date__lte=today)
        .order_by()
        .values_list("invoice_id", "invoice__customer_id")
    )
    with connection.cursor() as cursor:
        cursor.execute(unscheduled_sql(), [org.pk])
        fresh = cursor.fetchall()
    return Candidates(list(due) + fresh, {iid for iid, _ in fresh})



def list_kept_promises(org: Organisation) -> list[int]:
    """Open promises now kept: the invoice is settled, or the promised amount has been paid."""
    kept = []
    rows = Promise.objects.filter(organisation=org, state=PromiseState.OPEN).values_list(
        "id", "amount", "balance_when_made", "invoice__open_balance", "invoice__status"
    )
    closed = (InvoiceStatus.PAID, InvoiceStatus.CANCELLED, InvoiceStatus.WRITTEN_OFF)
    for pid, amount, before, balance, status in rows:
        settled = balance <= 0 or status in closed
        amount_paid = amount is not None and before is not None and balance <= before - amount
        if settled or amount_paid:
            kept.append(pid)
    return kept



def load_plans(org: Organisation) -> list[PlanState]:
    """Active payment plans, each instalment with what remains due (payments go to the oldest first)."""
    out = []
    plans = PaymentPlan.objects.filter(organisation=org, state=PaymentPlan.State.ACTIVE).prefetch_related(
        "instalments", "invoices"
    )
    for p in plans:
        invoices = sorted(p.invoices.all(), key=lambda i: (i.due_date, i.number))
        instalments = sorted(p.instalments.all(), key=lambda i: i.position)
        if not invoices or not instalments:
            continue
        planned_total = sum((i.amount for i in instalments), Decimal("0"))
        still_due = sum((max(i.open_balance, Decimal("0")) for i in invoices), Decimal("0"))
        remaining = spread_plan_payments([i.amount for i in instalments], planned_total - still_due)
        out.append(
            PlanState(
                id=p.pk, customer_id=p.customer_id, invoice_ids=tuple(i.pk for i in invoices),
                anchor_invoice_id=invoices[0].pk, anchor_number=invoices[0].number,
                instalments=tuple(
                    InstalmentState(i.pk, i.position, i.due_date, i.amount, left, i.dunning_last_step,
                                    i.dunning_last_date)
                    for i, left in zip(instalments, remaining, strict=True)
                ),
            )
        )
    return out



def overdue_of(invoices: Iterable[InvoiceState], today: date) -> dict[int, Overdue]:
    """What each customer has overdue and uncontested, from its invoices' states."""
    by_customer: dict[int, list[OpenInvoice]] = {}
    for inv in invoices:
        if not inv.disputed and inv.status != InvoiceStatus.DISPUTED:
            by_customer.setdefault(inv.customer_id, []).append(OpenInvoice(inv.due_date, inv.balance))
    out = {}
    for cid, open_invoices in by_customer.items():
        summary = summarise_overdue(tuple(open_invoices), today)
        if summary is not None:
            out[cid] = summary
    return out



def load_histories(
    org: Organisation, customer_ids: Iterable[int], overdue: dict[int, Overdue], today: date
) -> dict[int, History]:
    """Payment history of these customers over two years, and what they have overdue, for the risk score."""
    ids = list(customer_ids)
    since = today - timedelta(days=730)
    paid: dict[int, list[PaidInvoice]] = {}
    qn = connection.ops.quote_name
    invoice, allocation = qn(Invoice._meta.db_table), qn(Allocation._meta.db_table)
    payment, credit_note = qn(Payment._meta.db_table), qn(CreditNote._meta.db_table)
    iso = date.fromisoformat
    with connection.cursor() as cursor:
        for chunk in chunks(ids):
            # Plain SQL: the ORM's cost of building IN lists shows on a large run. Each paid invoice
            # with the date of its last payment or credit note.
            ids_sql, params = sql_in("i.customer_id", chunk)
            cursor.execute(
                f"SELECT i.id, i.customer_id, i.due_date, i.total, p.date, n.date FROM {invoice} i "
                f"JOIN {allocation} a ON a.invoice_id = i.id "
                f"LEFT JOIN {payment} p ON p.id = a.payment_id "
                f"LEFT JOIN {credit_note} n ON n.id = a.credit_note_id "
                f"WHERE {ids_sql} AND i.status = %s AND i.due_date >= %s "
                "AND (a.payment_id IS NOT NULL OR a.credit_note_id IS NOT NULL)",
                [*params, InvoiceStatus.PAID.value, since],
            )
            last: dict[int, tuple[int, date, Decimal, date]] = {}
            for iid, cid, due, total, pay_date, note_date in cursor.fetchall():
                day = pay_date or note_date
                day, due = (iso(day) if isinstance(day, str) else day), (iso(due) if isinstance(due, str) else due)
                if iid not in last or day > last[iid][3]:
                    last[iid] = (cid, due, as_decimal(total), day)
            for cid, due, total, day in last.values():
                paid.setdefault(cid, []).append(PaidInvoice(due, day, total))
    year_ago = timezone.now() - timedelta(days=365)
    disputes: dict[int, int] = {}
    for cid in Dispute.objects.filter(organisation=org, opened_at__gte=year_ago).values_list(
        "invoice__customer_id", flat=True
    ):
        disputes[cid] = disputes.get(cid, 0) + 1
    broken: dict[int, int] = {}
    for cid in Promise.objects.filter(
        organisation=org, state=PromiseState.BROKEN, created_at__gte=year_ago
    ).values_list("invoice__customer_id", flat=True):
        broken[cid] = broken.get(cid, 0) + 1
    return {
        cid: History(tuple(paid.get(cid, ())), (), disputes.get(cid, 0), broken.get(cid, 0), overdue.get(cid))
        for cid in ids
    }



@dataclass
class Snapshot:
    """What the planner needs for a day's run, read from the database as plain states."""

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


def read_snapshot(
    org: Organisation,
    today: date,
    config: Config,
    closed_promises: frozenset[int] = frozenset(),
    candidates: Candidates | None = None,
    second: SecondConnection | None = None,
) -> Snapshot:
    """What the planner needs. `candidates`: when already listed; `second`: a second connection that
    reads the customers' sums while this one reads the rest."""
    listed = candidates or list_candidate_invoices(org, today)
    candidate_ids = {iid for iid, _ in listed.pairs}
    plans = load_plans(org)
    customer_ids = {cid for _, cid in listed.pairs} | {p.customer_id for p in plans}
    sums = second.submit(customer_sums, org, customer_ids, today) if second else None
    customers, stored_risks = load_customers_and_risks(org, customer_ids)
    read = load_run_invoices(
        org, candidate_ids, customer_ids, today, call_steps(config), closed_promises, sums.result() if sums else None
    )
    invoices = read.invoices
    loaded = {inv.id for inv in invoices}
    stale = [iid for iid in candidate_ids if iid not in loaded]
    # The segment decides the scenario: score first, then plan.
    histories = load_histories(org, customer_ids, read.overdue, today)
    risks = {cid: score(h, today, org.language) for cid, h in histories.items()}
    for cid, customer in customers.items():
        risk = risks.get(cid)
        if risk is not None and not customer.segment_locked and risk.segment != customer.segment:
            customers[cid] = replace(customer, segment=risk.segment)
    return Snapshot(
        config, customers, invoices, plans, candidate_ids, read.totals, read.others, risks, stored_risks, stale,
        listed.fresh,
    )


def call_steps(config: Config) -> frozenset[str]:
    """The codes of the steps that are calls (an outcome since then counts as a conversation)."""
    return frozenset(s.code for sc in config.scenarios.values() for s in sc.steps if s.channel == "call")


def list_busy(org: Organisation, today: date) -> set[tuple[int, str]]:
    """(customer, channel) pairs that already have a reminder dated `today`: one per channel per day."""
    return set(Reminder.objects.filter(organisation=org, run_date=today).values_list("customer_id", "channel"))


def read_forecast(
    org: Organisation, config: Config, start: date, days: int
) -> tuple[dict[int, CustomerState], list[InvoiceState], list[PlanState]]:
    """The customers, invoices and plans a forecast of `days` runs from `start` simulates."""
    listed = list_candidate_invoices(org, start + timedelta(days=days))
    plans = load_plans(org)
    customer_ids = {cid for _, cid in listed.pairs} | {p.customer_id for p in plans}
    customers = load_customers(org, customer_ids)
    invoices = load_invoices(org, customer_ids, call_steps(config), frozenset(list_kept_promises(org)))
    return customers, invoices, plans
