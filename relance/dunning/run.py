"""The daily run: read what is due (relance.dunning.snapshot), let the pure planner decide, write
the plan (relance.dunning.persist), and keep the run's bookkeeping. Sending is not the run's job:
its callers hand over to relance.channels.delivery afterwards (relance.worker.deliver).

Idempotent: the DunningRun row of (organisation, date) is locked for the whole run, so two runs
started at once go one after the other, and the second one finds every invoice already moved
(its next date is after today) and every (customer, channel) of the day already used.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relance.accounts.models import Organisation
from relance.dunning import persist, queries, snapshot
from relance.dunning.models import DunningRun
from relance.dunning.planner import plan_day, simulate
from relance.dunning.snapshot import Snapshot
from relance.dunning.state import Advance, Config, CustomerState, DayPlan
from relance.ledger import totals
from relance.lib.db import SecondConnection, big_cache, in_background, paused_gc

log = logging.getLogger(__name__)


class DunningError(ValueError):
    """A dunning action refused, with a message for the user (in the active language)."""


@dataclass
class RunResult:
    organisation: str
    run_date: date
    dry_run: bool
    messages: list[dict] = field(default_factory=list)
    reminders: int = 0
    awaiting_approval: int = 0
    formal_notices: int = 0
    lines: int = 0
    tasks: int = 0
    advanced: int = 0
    rescheduled: int = 0
    broken_promises: int = 0
    kept_promises: int = 0
    scored: int = 0
    pass_number: int = 1

    def counts(self) -> dict:
        keys = ("reminders", "awaiting_approval", "formal_notices", "lines", "tasks", "advanced", "rescheduled",
                "broken_promises", "kept_promises", "scored")
        return {k: getattr(self, k) for k in keys}


def _config(org: Organisation) -> Config:
    config = snapshot.get_config(org)
    if not config.scenarios:
        raise DunningError(_("{org}: no active dunning scenario (run `relance init`)").format(org=org.slug))
    return config


def _plan(snap: Snapshot, today: date, busy: set[tuple[int, str]]) -> DayPlan:
    return plan_day(
        snap.config, snap.customers, snap.invoices, today, snap.plans, snap.candidates, busy, snap.totals, snap.others,
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


def plan_today(org: Organisation, today: date | None = None, dry_run: bool = False) -> RunResult:
    """Run the day's dunning of an organisation (or, with dry_run, say what it would do and write nothing).

    Writes the reminders; does not send them (the caller hands over to relance.worker.deliver)."""
    today = today or queries.org_today(org)
    with big_cache(), paused_gc():
        result = _run(org, today, dry_run)
    if not dry_run:
        totals.bring_to(org, today)  # the pages' overdue figures, moved to the day once, here
    return result


def _run(org: Organisation, today: date, dry_run: bool) -> RunResult:
    if dry_run:
        kept = frozenset(snapshot.list_kept_promises(org))
        snap = snapshot.read_snapshot(org, today, _config(org), kept)
        plan = _plan(snap, today, snapshot.list_busy(org, today))
        result = RunResult(org.slug, today, True, summarise(plan, snap.customers))
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
        run, _created = DunningRun.objects.get_or_create(organisation=org, run_date=today)
        run = DunningRun.objects.select_for_update().get(pk=run.pk)
        config = _config(org)
        kept = snapshot.list_kept_promises(org)
        persist.close_kept_promises(kept)
        listed = snapshot.list_candidate_invoices(org, today)
        split = can_split and len(listed.pairs) >= settings.RELANCE_RUN_SPLIT_FROM
        with SecondConnection() if split else nullcontext() as second:
            snap = snapshot.read_snapshot(org, today, config, candidates=listed, second=second)
            busy = snapshot.list_busy(org, today)
            result = _plan_and_write(org, today, snap, busy, second)
        result.kept_promises = len(kept)
        run.passes += 1
        run.state = DunningRun.State.DONE
        run.finished_at = timezone.now()
        result.pass_number = run.passes
        run.counts = result.counts()
        run.save()
    return result


def _plan_and_write(
    org: Organisation, today: date, snap: Snapshot, busy: set[tuple[int, str]], second: SecondConnection | None
) -> RunResult:
    # The scores are known before the plan: the database stores them while the planner works, each
    # connection those of the customers it writes for (so that one never waits on the other).
    risks = snap.risks
    if second:
        second.submit(persist.write_risks, org, {c: r for c, r in risks.items() if c % 2}, snap.stored_risks)
        risks = {c: r for c, r in risks.items() if not c % 2}
    with in_background(persist.write_risks, org, risks, snap.stored_risks):
        plan = _plan(snap, today, busy)
        plan.advances.extend(Advance(iid, "", None, None) for iid in snap.stale)
        result = RunResult(org.slug, today, False, summarise(plan, snap.customers))
        _count(result, plan)
    result.scored = len(snap.risks)
    if second is None:
        result.tasks = persist.write_plan(org, today, plan, snap)
        return result
    mine, theirs = split_plan(plan, snap)
    their_tasks = second.submit(persist.write_plan, org, today, theirs, snap)
    result.tasks = persist.write_plan(org, today, mine, snap)
    second.commit()  # before this transaction's: a failure there rolls this one back too
    result.tasks += their_tasks.result()
    return result


def split_plan(plan: DayPlan, snap: Snapshot) -> tuple[DayPlan, DayPlan]:
    """The plan in two halves by customer (odd and even ids), each complete for its customers: a
    customer's messages, lines, invoice advances and tasks are written together, so that either half
    committed alone is a consistent run of its customers (a second pass writes the other half).
    Promises and instalments, few, stay in the first half."""
    customer_of = {inv.id: inv.customer_id for inv in snap.invoices}
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
    result.formal_notices = sum(1 for m in plan.messages if m.tone == "formal")
    result.lines = sum(len(m.lines) for m in plan.messages)
    result.advanced = sum(1 for a in plan.advances if a.performed)
    result.rescheduled = sum(1 for a in plan.advances if not a.performed)
    result.broken_promises = len(plan.broken_promises)
    result.tasks = len(plan.tasks)


def forecast(org: Organisation, days: int, start: date | None = None) -> list[DayPlan]:
    """The plans of the coming `days` runs from `start` (today), assuming nothing is paid. Writes nothing."""
    start = start or queries.org_today(org)
    config = _config(org)
    customers, invoices, plans = snapshot.read_forecast(org, config, start, days)
    return simulate(config, customers, invoices, start, days, plans)
