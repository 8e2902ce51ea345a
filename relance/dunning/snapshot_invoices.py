"""The invoice side of the run's snapshot (relance.dunning.snapshot): the candidate invoices as the
planner's plain states, with their disputes, promises, plans and call outcomes, and the customers'
sums computed by the database. Plain SQL where a large run would feel the ORM's per-row cost."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection

from relance.accounts.models import Organisation
from relance.dunning.models import (
    Dispute,
    InvoiceSchedule,
    PaymentPlan,
    Promise,
    PromiseState,
    ReminderLine,
    ReminderState,
    Task,
    TaskKind,
)
from relance.dunning.scoring import Overdue
from relance.dunning.state import InvoiceState
from relance.dunning.state import PromiseState as PromiseSpec
from relance.ledger.models import Invoice, InvoiceStatus
from relance.lib.db import chunks
from relance.lib.money import CENT
from relance.portal.models import PortalRequest

# Invoices the engine looks at: not paid, cancelled or written off.
ACTIVE_STATUSES = [InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID, InvoiceStatus.DISPUTED]
# The same as SQL literals, as the `invoice_unscheduled` partial index states them.
ACTIVE_SQL = "(" + ", ".join(f"'{status.value}'" for status in ACTIVE_STATUSES) + ")"
# Call outcomes that are not a conversation: they do not spare the customer the firm e-mail.
NON_CONTACT_OUTCOMES = {"no_answer", "wrong_number"}

_INVOICE_FIELDS = ("id", "customer_id", "number", "issue_date", "due_date", "open_balance", "status")
_SCHEDULE_FIELDS = ("last_step", "last_date", "next_date")


def _only(queryset, field: str, only: list[int] | None):
    return queryset if only is None else queryset.filter(**{f"{field}__in": only})


def open_promises(
    org: Organisation, closed: frozenset[int] = frozenset(), only: list[int] | None = None
) -> dict[int, PromiseSpec]:
    rows = _only(Promise.objects.filter(organisation=org, state=PromiseState.OPEN), "invoice_id", only).values_list(
        "invoice_id", "id", "promised_date"
    )
    return {inv: PromiseSpec(pid, when) for inv, pid, when in rows if pid not in closed}


def open_disputes(org: Organisation, only: list[int] | None = None) -> set[int]:
    disputes = _only(Dispute.objects.filter(organisation=org, is_open=True), "invoice_id", only)
    return set(disputes.values_list("invoice_id", flat=True))


def planned_invoices(org: Organisation, only: list[int] | None = None) -> set[int]:
    through = PaymentPlan.invoices.through
    rows = through.objects.filter(paymentplan__organisation=org, paymentplan__state=PaymentPlan.State.ACTIVE)
    return set(_only(rows, "invoice_id", only).values_list("invoice_id", flat=True))


def portal_held(org: Organisation, only: list[int] | None = None) -> set[int]:
    """Invoices named by an open portal answer of their customer (already paid, disputed, plan asked):
    held until a collector handles it. Read through the `portal_request_queue` index."""
    through = PortalRequest.invoices.through
    rows = through.objects.filter(portalrequest__organisation=org, portalrequest__state=PortalRequest.State.OPEN)
    return set(_only(rows, "invoice_id", only).values_list("invoice_id", flat=True))


def refused_notice_lines():
    """The lines of the formal notices a person refused at approval (relance.dunning.actions.skip_reminder:
    cancelled with its approver, its lines kept; the re-check before a send cancels by dropping lines)."""
    return ReminderLine.objects.filter(
        reminder__state=ReminderState.CANCELLED, reminder__tone="formal", reminder__approved_by__isnull=False,
        dropped=False,
    )


def refused_notices(org: Organisation, only: list[int] | None = None) -> set[int]:
    """Invoices of a refused formal notice (refused_notice_lines). Rare: read whole for the organisation."""
    rows = refused_notice_lines().filter(reminder__organisation=org)
    return set(_only(rows, "invoice_id", only).values_list("invoice_id", flat=True))


def call_outcomes(org: Organisation, invoice_ids: list[int]) -> dict[int, date]:
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



def sql_in(column: str, ids: list[int]) -> tuple[str, list]:
    """`column IN (...)`, as one array parameter on PostgreSQL (the driver parses long lists slowly)."""
    if connection.vendor == "postgresql":
        # Written as an array literal: the driver's per-element dumping of a list costs more.
        return f"{column} = ANY(%s::bigint[])", ["{" + ",".join(map(str, ids)) + "}"]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", ids


def as_decimal(value) -> Decimal:
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
            ids_sql, ids = sql_in(qn("invoice_id"), chunk)
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
        out.append((r[0], r[1], r[2], iso(r[3]), iso(r[4]), as_decimal(r[5]), r[6], step, last and iso(last),
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
        ids_sql, ids = sql_in("customer_id", chunk)
        rows.extend(_select_invoices(f"{ids_sql} AND status IN (%s, %s, %s) AND open_balance > 0",
                                     [*ids, *[s.value for s in ACTIVE_STATUSES]]))
    return _states(org, rows, call_steps, closed_promises)


def load_invoices_by_id(org: Organisation, invoice_ids: Iterable[int]) -> list[InvoiceState]:
    """These invoices while still active, with their disputes, promises and plans: the re-check right
    before a send reads only what its message names."""
    wanted = sorted(set(invoice_ids))
    if not wanted:
        return []
    ids_sql, ids = sql_in("id", wanted)
    rows = _select_invoices(f"{ids_sql} AND organisation_id = %s AND status IN (%s, %s, %s) AND open_balance > 0",
                            [*ids, org.pk, *[s.value for s in ACTIVE_STATUSES]])
    return _states(org, rows, frozenset(), frozenset(), only=wanted)


def _states(
    org: Organisation, rows: list[tuple], call_steps: frozenset[str], closed_promises: frozenset[int],
    only: list[int] | None = None,
) -> list[InvoiceState]:
    """Invoice rows (_INVOICE_FIELDS) with their open disputes, promises, plans and call outcomes
    (those of the invoices `only` when given, else the organisation's)."""
    promises = open_promises(org, closed_promises, only)
    disputes = open_disputes(org, only)
    planned = planned_invoices(org, only)
    portal = portal_held(org, only)
    refused = refused_notices(org, only)
    after_call = [r[0] for r in rows if r[7] in call_steps]
    outcomes = call_outcomes(org, after_call) if after_call else {}
    return [
        # Positional: this runs for every invoice a run reads.
        InvoiceState(
            iid, cid, number, issued, due, balance, status, last_step, last_date, next_date,
            iid in disputes, promises.get(iid), iid in planned, outcomes.get(iid), iid in portal,
            iid in refused,
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
        ids_sql, ids = sql_in("id", chunk)
        rows.extend(_select_invoices(f"{ids_sql} AND status IN (%s, %s, %s) AND open_balance > 0", [*ids, *active]))
    invoices = _states(org, rows, call_steps, closed_promises)
    totals, overdue, others = sums if sums is not None else customer_sums(org, customer_ids, today)
    # Not claimed as "other overdue invoices": contested, promised, in a payment plan or answered on the portal.
    held = (open_disputes(org) | set(open_promises(org, closed_promises)) | planned_invoices(org)
            | portal_held(org))
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
            ids_sql, ids = sql_in("customer_id", chunk)
            if connection.vendor == "postgresql":
                rows = _sums_and_others_pg(cursor, table, ids_sql, ids, uncontested, org.min_reminder_amount, today)
            else:
                rows = _sums_and_others(cursor, table, ids_sql, ids, uncontested, org.min_reminder_amount, today)
            for cid, total, late, weighted, oldest, other_ids in rows:
                if total is not None:
                    totals[cid] = as_decimal(total)
                if late and as_decimal(late) > 0:
                    oldest_day = oldest if isinstance(oldest, date) else date.fromisoformat(oldest)
                    overdue[cid] = Overdue(as_decimal(late), float(weighted) / float(late), (today - oldest_day).days)
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

