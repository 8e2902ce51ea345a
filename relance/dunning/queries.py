"""Reads for the dunning engine: the database turned into the planner's plain states, and the lists
the commands and pages show. No writes here (see actions.py and run.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
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
    ReminderState,
    Scenario,
    ScenarioRule,
    Task,
    TaskKind,
)
from relance.dunning.rules import spread_plan_payments
from relance.dunning.scoring import History, OpenInvoice, Overdue, PaidInvoice, summarise_overdue
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
from relance.dunning.state import PromiseState as PromiseSpec
from relance.ledger.models import Allocation, Contact, CreditNote, Customer, Invoice, InvoiceStatus, Payment
from relance.lib.db import chunks
from relance.lib.money import CENT

# Invoices the engine looks at: not paid, cancelled or written off.
ACTIVE_STATUSES = [InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID, InvoiceStatus.DISPUTED]
# The same as SQL literals, as the `invoice_unscheduled` partial index states them.
_ACTIVE_SQL = "(" + ", ".join(f"'{status.value}'" for status in ACTIVE_STATUSES) + ")"
# Call outcomes that are not a conversation: they do not spare the customer the firm e-mail.
NON_CONTACT_OUTCOMES = {"no_answer", "wrong_number"}
_FR_MOBILE_PREFIXES = ("+336", "+337", "06", "07", "00336", "00337")
_FR_GEOGRAPHIC_PREFIXES = tuple(f"{p}{d}" for p in ("+33", "0033") for d in "12345")

_INVOICE_FIELDS = ("id", "customer_id", "number", "issue_date", "due_date", "open_balance", "status")
_SCHEDULE_FIELDS = ("last_step", "last_date", "next_date")


def org_today(org: Organisation, now: datetime | None = None) -> date:
    """Today's date in the organisation's time zone."""
    now = now or timezone.now()
    return now.astimezone(ZoneInfo(org.time_zone)).date()


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
    policy = Policy(min_amount=org.min_reminder_amount, small_amount_threshold=org.small_amount_threshold)
    return Config(scenarios=scenarios, rules=rules, policy=policy)


def is_mobile(number: str, country: str = "FR") -> bool:
    compact = "".join(ch for ch in number if ch.isdigit() or ch == "+")
    if country == "FR" and not compact.startswith(("+", "00")):
        return compact.startswith(("06", "07"))
    if compact.startswith(_FR_MOBILE_PREFIXES):
        return True
    if compact.startswith(_FR_GEOGRAPHIC_PREFIXES):
        return False  # French landlines (01 to 05), as stored in international form: no parsing needed
    try:
        parsed = phonenumbers.parse(number, country or "FR")
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(parsed)
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


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
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for chunk in chunks(ids):
            # By primary key only: an organisation filter makes SQLite scan the table.
            ids_sql, params = _in("c.id", chunk)
            cursor.execute(
                "SELECT c.id, c.external_id, c.name, c.kind, c.strategic, c.risk_segment, c.risk_segment_override, "
                "s.code, s.active, c.paused_until, c.collector_id, c.address_line1, c.postcode, c.city, c.language, "
                f"c.risk_score, c.risk_reasons FROM {customer_table} c "
                f"LEFT JOIN {scenario_table} s ON s.id = c.scenario_id WHERE {ids_sql}",
                params,
            )
            rows.extend(cursor.fetchall())
            ids_sql, params = _in("customer_id", chunk)
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
                    if is_mobile(value):
                        have.add("sms")
                elif kind == "postal":
                    have.add("letter")
    out, risks = {}, {}
    for (cid, ext, name, kind, strategic, segment, override, scenario_code, scenario_active, paused, collector,
         line1, postcode, city, language, risk_score, reasons) in rows:
        have = channels.get(cid, set())
        if line1 and (postcode or city):
            have.add("letter")
        if sqlite and isinstance(paused, str):
            paused = date.fromisoformat(paused)
        out[cid] = CustomerState(
            id=cid, external_id=ext, name=name, kind=kind, strategic=bool(strategic), segment=override or segment,
            scenario_code=scenario_code if scenario_code and scenario_active else "", paused_until=paused,
            channels=frozenset(have), collector_id=collector, language=language, segment_locked=bool(override),
        )
        risks[cid] = (risk_score, segment, reasons)
    return out, risks


def list_invoice_customers(org: Organisation, invoice_ids: Iterable[int]) -> list[int]:
    """The customers (sorted ids) of these invoices of the organisation."""
    found: set[int] = set()
    table = connection.ops.quote_name(Invoice._meta.db_table)
    with connection.cursor() as cursor:
        for chunk in chunks(sorted(invoice_ids)):
            ids_sql, params = _in("id", chunk)
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
            f"AND status IN {_ACTIVE_SQL} AND open_balance > 0")


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


def _open_promises(org: Organisation, closed: frozenset[int] = frozenset()) -> dict[int, PromiseSpec]:
    rows = Promise.objects.filter(organisation=org, state=PromiseState.OPEN).values_list(
        "invoice_id", "id", "promised_date"
    )
    return {inv: PromiseSpec(pid, when) for inv, pid, when in rows if pid not in closed}


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


def _open_disputes(org: Organisation) -> set[int]:
    return set(Dispute.objects.filter(organisation=org, is_open=True).values_list("invoice_id", flat=True))


def _planned_invoices(org: Organisation) -> set[int]:
    through = PaymentPlan.invoices.through
    rows = through.objects.filter(paymentplan__organisation=org, paymentplan__state=PaymentPlan.State.ACTIVE)
    return set(rows.values_list("invoice_id", flat=True))


def _call_outcomes(org: Organisation, invoice_ids: list[int]) -> dict[int, date]:
    """Latest date a call task on these invoices got a conversation outcome."""
    out: dict[int, date] = {}
    through = Task.invoices.through
    tz = ZoneInfo(org.time_zone)
    for chunk in chunks(invoice_ids):
        rows = (
            through.objects.filter(invoice_id__in=chunk, task__kind=TaskKind.CALL)
            .exclude(task__outcome="")
            .exclude(task__outcome__in=NON_CONTACT_OUTCOMES)
            .values_list("invoice_id", "task__done_at", "task__created_at")
        )
        for inv, done_at, created_at in rows:
            day = (done_at or created_at).astimezone(tz).date()
            if inv not in out or day > out[inv]:
                out[inv] = day
    return out


def _in(column: str, ids: list[int]) -> tuple[str, list]:
    """`column IN (...)`, as one array parameter on PostgreSQL (the driver parses long lists slowly)."""
    if connection.vendor == "postgresql":
        # Written as an array literal: the driver's per-element dumping of a list costs more.
        return f"{column} = ANY(%s::bigint[])", ["{" + ",".join(map(str, ids)) + "}"]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", ids


def _dec(value) -> Decimal:
    # SQLite gives NUMERIC columns back as int or float (exact to the cent at these magnitudes).
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(CENT)


def _select_invoices(where: str, params: list) -> list[tuple]:
    """Invoice rows (_INVOICE_FIELDS then _SCHEDULE_FIELDS) read with a plain cursor: the ORM's
    per-value conversions cost more than the query on a large run. `where` names invoice columns."""
    sqlite = connection.vendor == "sqlite"
    qn = connection.ops.quote_name

    def columns(model, names) -> str:
        fields = [model._meta.get_field(name) for name in names]
        # On SQLite a CAST has no declared type, so the driver leaves the ISO string to date.fromisoformat.
        return ", ".join(
            f"CAST({qn(f.column)} AS TEXT)" if sqlite and f.get_internal_type() == "DateField" else qn(f.column)
            for f in fields
        )

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns(Invoice, _INVOICE_FIELDS)} FROM {qn(Invoice._meta.db_table)} WHERE {where}",
                       params)
        rows = cursor.fetchall()
        # The schedules in a query of their own, by key: joined, PostgreSQL would rather read the
        # whole schedule table for each batch of invoices.
        schedules = {}
        for chunk in chunks([r[0] for r in rows]):
            ids_sql, ids = _in(qn("invoice_id"), chunk)
            cursor.execute(
                f"SELECT invoice_id, {columns(InvoiceSchedule, _SCHEDULE_FIELDS)} "
                f"FROM {qn(InvoiceSchedule._meta.db_table)} WHERE {ids_sql}",
                ids,
            )
            schedules.update((r[0], r[1:]) for r in cursor.fetchall())
    none = ("", None, None)  # not scheduled yet: no step done
    if not sqlite:
        return [(*r, *schedules.get(r[0], none)) for r in rows]
    iso = date.fromisoformat
    out = []
    for r in rows:
        step, last, nxt = schedules.get(r[0], none)
        out.append((r[0], r[1], r[2], iso(r[3]), iso(r[4]), _dec(r[5]), r[6], step, last and iso(last),
                    nxt and iso(nxt)))
    return out


def load_invoices(
    org: Organisation,
    customer_ids: Iterable[int],
    call_steps: frozenset[str] = frozenset(),
    closed_promises: frozenset[int] = frozenset(),
) -> list[InvoiceState]:
    """All the active invoices of these customers, with their disputes, promises and plans."""
    rows: list[tuple] = []
    for chunk in chunks(list(customer_ids)):
        # By customer (the `invoice_customer_status` index): the customer ids are the organisation's.
        ids_sql, ids = _in("customer_id", chunk)
        rows.extend(_select_invoices(f"{ids_sql} AND status IN (%s, %s, %s) AND open_balance > 0",
                                     [*ids, *[s.value for s in ACTIVE_STATUSES]]))
    return _states(org, rows, call_steps, closed_promises)


def _states(
    org: Organisation, rows: list[tuple], call_steps: frozenset[str], closed_promises: frozenset[int]
) -> list[InvoiceState]:
    """Invoice rows (_INVOICE_FIELDS) with their open disputes, promises, plans and call outcomes."""
    promises = _open_promises(org, closed_promises)
    disputes = _open_disputes(org)
    planned = _planned_invoices(org)
    after_call = [r[0] for r in rows if r[7] in call_steps]
    outcomes = _call_outcomes(org, after_call) if after_call else {}
    return [
        # Positional: this runs for every invoice a run reads.
        InvoiceState(
            iid, cid, number, issued, due, balance, status, last_step, last_date, next_date,
            iid in disputes, promises.get(iid), iid in planned, outcomes.get(iid),
        )
        for iid, cid, number, issued, due, balance, status, last_step, last_date, next_date in rows
    ]


@dataclass
class RunRead:
    """What a run reads besides the customers: the candidate invoices in full, and per customer
    its uncontested total due, its other overdue invoices (ids, oldest first) and what is overdue."""

    invoices: list[InvoiceState]
    totals: dict[int, Decimal]
    others: dict[int, list[int]]
    overdue: dict[int, Overdue]


def _days_before(connection_vendor: str) -> str:
    # Days from due_date to the date parameter, in each database's date arithmetic.
    if connection_vendor == "postgresql":
        return "(CAST(%s AS date) - due_date)"
    return "(julianday(%s) - julianday(due_date))"


def load_run_invoices(
    org: Organisation,
    candidate_ids: Iterable[int],
    customer_ids: Iterable[int],
    today: date,
    call_steps: frozenset[str] = frozenset(),
    closed_promises: frozenset[int] = frozenset(),
    sums: tuple | None = None,
) -> RunRead:
    """The candidates in full; the customers' other invoices only as sums and ids computed by the
    database, so that a large run never brings their rows into Python. `sums`: customer_sums()
    of these customers when already read (by a second connection, at the same time)."""
    active = [s.value for s in ACTIVE_STATUSES]
    rows: list[tuple] = []
    for chunk in chunks(list(candidate_ids)):
        ids_sql, ids = _in("id", chunk)
        rows.extend(_select_invoices(f"{ids_sql} AND status IN (%s, %s, %s) AND open_balance > 0", [*ids, *active]))
    invoices = _states(org, rows, call_steps, closed_promises)
    totals, overdue, others = sums if sums is not None else customer_sums(org, customer_ids, today)
    # Not claimed as "other overdue invoices": contested, promised or in a payment plan.
    held = _open_disputes(org) | set(_open_promises(org, closed_promises)) | _planned_invoices(org)
    kept_others = {}
    for cid, ids in others.items():
        kept = [iid for iid in ids if iid not in held]
        if kept:
            kept_others[cid] = kept
    return RunRead(invoices, totals, kept_others, overdue)


def customer_sums(
    org: Organisation, customer_ids: Iterable[int], today: date
) -> tuple[dict[int, Decimal], dict[int, Overdue], dict[int, list[int]]]:
    """Per customer, computed by the database: its uncontested total due, what it has overdue, and
    its overdue invoices worth listing (ids, oldest first)."""
    uncontested = [InvoiceStatus.OPEN.value, InvoiceStatus.PARTLY_PAID.value]
    totals: dict[int, Decimal] = {}
    overdue: dict[int, Overdue] = {}
    others: dict[int, list[int]] = {}
    table = connection.ops.quote_name(Invoice._meta.db_table)
    with connection.cursor() as cursor:
        for chunk in chunks(list(customer_ids)):
            ids_sql, ids = _in("customer_id", chunk)
            if connection.vendor == "postgresql":
                rows = _sums_and_others_pg(cursor, table, ids_sql, ids, uncontested, org.min_reminder_amount, today)
            else:
                rows = _sums_and_others(cursor, table, ids_sql, ids, uncontested, org.min_reminder_amount, today)
            for cid, total, late, weighted, oldest, other_ids in rows:
                if total is not None:
                    totals[cid] = _dec(total)
                if late and _dec(late) > 0:
                    oldest_day = oldest if isinstance(oldest, date) else date.fromisoformat(oldest)
                    overdue[cid] = Overdue(_dec(late), float(weighted) / float(late), (today - oldest_day).days)
                if other_ids:
                    others[cid] = list(other_ids)
    return totals, overdue, others


def _sums_and_others_pg(cursor, table: str, ids_sql: str, ids: list, statuses: list, minimum, today: date):
    """(customer, total due, overdue, overdue weighted by days, oldest due date, overdue invoice ids
    to list oldest first) in one pass over the customers' invoices."""
    cursor.execute(
        "SELECT customer_id, SUM(open_balance) FILTER (WHERE open_balance > 0), "
        "SUM(open_balance) FILTER (WHERE open_balance > 0 AND due_date < %s), "
        "SUM(open_balance * (CAST(%s AS date) - due_date)) FILTER (WHERE open_balance > 0 AND due_date < %s), "
        "MIN(due_date) FILTER (WHERE open_balance > 0 AND due_date < %s), "
        "array_agg(id ORDER BY due_date, number) FILTER (WHERE open_balance >= %s AND due_date < %s) "
        f"FROM {table} WHERE {ids_sql} AND status IN (%s, %s) AND (open_balance > 0 OR open_balance >= %s) "
        "GROUP BY customer_id",
        [today, today, today, today, minimum, today, *ids, *statuses, minimum],
    )
    return [(*row[:5], row[5] or ()) for row in cursor.fetchall()]


def _sums_and_others(cursor, table: str, ids_sql: str, ids: list, statuses: list, minimum, today: date):
    """_sums_and_others_pg in two queries (SQLite's group_concat keeps no order)."""
    days = _days_before(connection.vendor)
    cursor.execute(
        "SELECT customer_id, SUM(open_balance), "
        "SUM(CASE WHEN due_date < %s THEN open_balance ELSE 0 END), "
        f"SUM(CASE WHEN due_date < %s THEN open_balance * {days} ELSE 0 END), "
        "MIN(CASE WHEN due_date < %s THEN due_date END) "
        f"FROM {table} WHERE {ids_sql} AND status IN (%s, %s) AND open_balance > 0 "
        "GROUP BY customer_id",
        [today, today, today, today, *ids, *statuses],
    )
    sums = {row[0]: row for row in cursor.fetchall()}
    cursor.execute(
        f"SELECT id, customer_id FROM {table} WHERE {ids_sql} AND status IN (%s, %s) "
        "AND open_balance >= %s AND due_date < %s ORDER BY customer_id, due_date, number",
        [*ids, *statuses, minimum, today],
    )
    others: dict[int, list[int]] = {}
    for iid, cid in cursor.fetchall():
        others.setdefault(cid, []).append(iid)
    return [
        (*(sums.get(cid) or (cid, None, None, None, None)), others.get(cid, ()))
        for cid in sums.keys() | others.keys()
    ]


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
            ids_sql, params = _in("i.customer_id", chunk)
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
                    last[iid] = (cid, due, _dec(total), day)
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
