"""The daily plan, pure: plain frozen dataclasses in (relance.dunning.state), plain data out.

`plan_day()` decides what a run on a date does: at most one step per invoice, one message per
customer per channel, the tasks for people, the promises found broken. `next_dates()` gives the
indexed next due date of invoices without doing anything; `simulate()` plans the coming days
(the forecast) by applying each day's plan to the states in memory.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from relance.dunning.rules import (
    FALLBACKS,
    INSTALMENT_SCENARIO,
    choose_scenario,
    excluded,
    hold_reason,
    invoice_next,
    is_paused,
    next_step,
    promise_grace_end,
    template_for,
)
from relance.dunning.state import (
    ESCALATION,
    TONE_RANK,
    Advance,
    Config,
    CustomerState,
    DayPlan,
    InstalmentAdvance,
    InvoiceState,
    Line,
    Message,
    PlanState,
    ScenarioSpec,
    StepSpec,
    TaskOrder,
)
from relance.lib.dates import next_business_day

ONE_DAY = timedelta(days=1)
ZERO = Decimal("0")
BROKEN_PROMISE = StepSpec("broken-promise", 0, 0, "email", "broken_promise", "firm", min_gap_days=0)
# Ranks above every amicable or firm step of a message, below a formal one.
_BROKEN_PROMISE_RANK = (TONE_RANK["firm"], 1000)

# hold_reason() verdicts under which an invoice has no next date at all.
# ("portal": until a collector handles the customer's answer, which recomputes the next date.)
_NEVER = frozenset({"settled", "disputed", "plan", "below_minimum", "insolvency", "portal"})

# _evaluate() verdicts
_WAIT, _DUE, _BROKEN = 0, 1, 2


@dataclass(slots=True)
class _Item:
    """Something to do today for one customer, before its channel is resolved."""

    step: StepSpec
    line: Line
    rank: tuple[int, int]
    inv: InvoiceState | None = None
    promise_id: int | None = None
    instalment_id: int | None = None


class _Customers:
    """Per-customer facts the rules need, computed once per customer and run."""

    def __init__(
        self,
        config: Config,
        customers: Mapping[int, CustomerState],
        invoices: Iterable[InvoiceState],
        totals: Mapping[int, Decimal] | None = None,
        others: Mapping[int, Sequence[int]] | None = None,
    ):
        self.config = config
        self.customers = customers
        self.totals = totals
        self.others = others
        self.invoices: dict[int, list[InvoiceState]] = {}
        for inv in invoices:
            self.invoices.setdefault(inv.customer_id, []).append(inv)
        self._scenario: dict[int, ScenarioSpec] = {}

    def total_due(self, customer_id: int) -> Decimal:
        """What the customer owes and does not contest (for the small-amount rule)."""
        if self.totals is not None:
            return self.totals.get(customer_id, ZERO)
        total = ZERO
        for inv in self.invoices.get(customer_id, ()):
            if inv.balance > 0 and excluded(inv, self.config.policy) not in ("settled", "disputed"):
                total += inv.balance
        return total

    def scenario(self, customer_id: int) -> ScenarioSpec:
        scenario = self._scenario.get(customer_id)
        if scenario is None:
            customer = self.customers[customer_id]
            scenario = choose_scenario(customer, self.total_due(customer_id), self.config)
            self._scenario[customer_id] = scenario
        return scenario


def _invoice_next(
    inv: InvoiceState, scenario: ScenarioSpec, today: date, config: Config, memo: dict | None
) -> tuple[StepSpec, date] | None:
    """invoice_next(), remembered for the invoices of one call that share what it depends on: an
    import or a run gives thousands of invoices the same dates, and the business-day arithmetic is
    most of the planner's time."""
    if memo is None:
        return invoice_next(inv, scenario, today, config.policy)
    # The scenario by identity: it lives in `config` for the whole call.
    key = (id(scenario), inv.due_date, inv.issue_date, inv.last_step, inv.last_date, inv.call_outcome_on,
           inv.notice_refused)
    try:
        return memo[key]
    except KeyError:
        found = memo[key] = invoice_next(inv, scenario, today, config.policy)
        return found


def _evaluate(
    inv: InvoiceState,
    customer: CustomerState,
    scenario: ScenarioSpec,
    today: date,
    config: Config,
    memo: dict | None = None,
) -> tuple[int, StepSpec | None, date | None]:
    """(verdict, step due today, next date for the index) for one invoice on `today`."""
    policy = config.policy
    reason = hold_reason(inv, customer, today, policy)
    if reason in _NEVER:
        return _WAIT, None, None
    if inv.promise is not None:
        # Covered until the promised date plus the grace; broken on the next business day.
        broken_on = next_business_day(promise_grace_end(inv.promise.promised_date, policy) + ONE_DAY)
        if reason == "promise":
            return _WAIT, None, broken_on
        if reason == "paused":
            return _WAIT, None, next_business_day(customer.paused_until + ONE_DAY)  # type: ignore[operator]
        if inv.last_date is not None and inv.last_date >= today:
            return _WAIT, None, next_business_day(today + ONE_DAY)
        return _BROKEN, None, broken_on
    nxt = _invoice_next(inv, scenario, today, config, memo)
    if nxt is None:
        return _WAIT, None, None
    step, when = nxt
    if reason == "paused":
        return _WAIT, None, next_business_day(max(when, customer.paused_until + ONE_DAY))  # type: ignore[operator]
    if inv.last_date is not None and inv.last_date >= today:
        # At most one step per invoice per day, whatever the minimum gap says.
        return _WAIT, None, next_business_day(max(when, today + ONE_DAY))
    if when > today:
        return _WAIT, None, when
    return _DUE, step, when


def next_dates(
    config: Config,
    customers: Mapping[int, CustomerState],
    invoices: Iterable[InvoiceState],
    today: date,
    only: Collection[int] | None = None,
) -> list[Advance]:
    """The indexed next date of each invoice (of `only` when given), as of `today`, without acting."""
    facts = _Customers(config, customers, invoices)
    memo: dict = {}
    out = []
    for cid, invs in facts.invoices.items():
        customer = customers.get(cid)
        for inv in invs:
            if only is not None and inv.id not in only:
                continue
            if customer is None:
                out.append(Advance(inv.id, inv.last_step, inv.last_date, None))
                continue
            _, _, when = _evaluate(inv, customer, facts.scenario(cid), today, config, memo)
            out.append(Advance(inv.id, inv.last_step, inv.last_date, when))
    return out


def plan_day(
    config: Config,
    customers: Mapping[int, CustomerState],
    invoices: Iterable[InvoiceState],
    today: date,
    plans: Iterable[PlanState] = (),
    candidates: Collection[int] | None = None,
    busy: Collection[tuple[int, str]] = (),
    totals: Mapping[int, Decimal] | None = None,
    others: Mapping[int, Sequence[int]] | None = None,
) -> DayPlan:
    """What a run on `today` does.

    `invoices` are the open invoices of the customers concerned (for their totals and the list of
    other overdue invoices); only `candidates` (all when None) are examined for a step. A large
    run gives only the candidates and, computed by the database, `totals` (each customer's
    uncontested total due) and `others` (each customer's overdue invoices to list, oldest first).
    `busy` holds (customer id, channel) pairs that already had their message today.
    """
    plan = DayPlan(today)
    facts = _Customers(config, customers, invoices, totals, others)
    memo: dict = {}
    todo: dict[int, list[_Item]] = {}
    for cid, invs in facts.invoices.items():
        customer = customers.get(cid)
        for inv in invs:
            if candidates is not None and inv.id not in candidates:
                continue
            if customer is None:
                plan.advances.append(Advance(inv.id, inv.last_step, inv.last_date, None))
                continue
            scenario = facts.scenario(cid)
            verdict, step, when = _evaluate(inv, customer, scenario, today, config, memo)
            if verdict == _WAIT:
                if when != inv.next_date:
                    plan.advances.append(Advance(inv.id, inv.last_step, inv.last_date, when))
            elif verdict == _DUE:
                assert step is not None
                line = Line(inv.id, inv.number, step.code, inv.balance)
                todo.setdefault(cid, []).append(_Item(step, line, (TONE_RANK.get(step.tone, 0), step.position), inv))
            else:
                assert inv.promise is not None
                line = Line(inv.id, inv.number, f"broken-promise-{inv.promise.id}", inv.balance)
                todo.setdefault(cid, []).append(
                    _Item(BROKEN_PROMISE, line, _BROKEN_PROMISE_RANK, inv, promise_id=inv.promise.id)
                )
    for p in plans:
        _plan_instalments(p, customers.get(p.customer_id), today, config, todo)
    busy_set = set(busy)
    for cid, items in todo.items():
        _resolve_customer(customers[cid], facts, items, today, config, busy_set, plan)
    return plan


def _plan_instalments(
    p: PlanState, customer: CustomerState | None, today: date, config: Config, todo: dict[int, list[_Item]]
) -> None:
    # The instalments of a plan are reminded as long as the customer may be: not while paused, nor
    # under insolvency proceedings (the plan's invoices are then claims to declare).
    if customer is None or is_paused(customer, today) or customer.insolvency_date is not None:
        return
    policy = config.policy
    for inst in p.instalments:
        if inst.remaining < policy.min_amount or (inst.last_date is not None and inst.last_date >= today):
            continue
        due = inst.due_date
        nxt = next_step(INSTALMENT_SCENARIO, due, due, inst.last_step, inst.last_date, today, policy)
        if nxt is None or nxt[1] > today:
            continue
        step = nxt[0]
        line = Line(p.anchor_invoice_id, p.anchor_number, f"i{inst.id}-{step.code}", inst.remaining, inst.id)
        rank = (TONE_RANK.get(step.tone, 0), step.position)
        todo.setdefault(p.customer_id, []).append(_Item(step, line, rank, instalment_id=inst.id))


def _channel_for(wanted: str, available: frozenset[str]) -> str:
    if wanted in available:
        return wanted
    for other in FALLBACKS.get(wanted, ()):
        if other in available:
            return other
    return ""


def _resolve_customer(
    customer: CustomerState,
    facts: _Customers,
    items: list[_Item],
    today: date,
    config: Config,
    busy: set[tuple[int, str]],
    plan: DayPlan,
) -> None:
    """Give each item a channel (falling back when a contact is missing), group them into one
    message per channel, and record what each invoice did."""
    cid = customer.id
    scenario = facts.scenario(cid)
    groups: dict[str, list[_Item]] = {}
    fixes: dict[str, list[int]] = {}
    escalations: list[_Item] = []
    calls_without_message: list[tuple[_Item, str]] = []
    for item in items:
        wanted = item.step.channel
        if wanted == "task":
            escalations.append(item)
            continue
        # An escalation needs no contact of the customer: it always goes on its own channel.
        channel = wanted if wanted == ESCALATION else _channel_for(wanted, customer.channels)
        if channel != wanted:
            fixes.setdefault(wanted, []).append(item.line.invoice_id)
        if item.step.with_call_task:
            if "call" in customer.channels:
                calls_without_message.append((item, channel))
            else:
                fixes.setdefault("call", []).append(item.line.invoice_id)
        if not channel or (cid, channel) in busy:
            _not_done(item, today, plan)
            continue
        groups.setdefault(channel, []).append(item)
    for channel, group in sorted(groups.items()):
        message = _message(customer, scenario, channel, group, facts, today, config)
        plan.messages.append(message)
        for item in group:
            _done(item, scenario, today, config, plan)
        if channel == "call":
            invoice_ids = tuple(line.invoice_id for line in message.lines)
            plan.tasks.append(TaskOrder("call", cid, invoice_ids, message.step_code, message_channel="call"))
    for item, channel in calls_without_message:
        if channel in groups:
            plan.tasks.append(TaskOrder("call", cid, (item.line.invoice_id,), item.step.code, message_channel=channel))
    for item in escalations:
        _done(item, scenario, today, config, plan)
    if escalations:
        invoice_ids = tuple(sorted(i.line.invoice_id for i in escalations))
        plan.tasks.append(TaskOrder("escalation", cid, invoice_ids, escalations[0].step.code))
    promised = [i for i in items if i.promise_id is not None and _was_done(i, groups)]
    if promised:
        plan.tasks.append(TaskOrder("broken_promise", cid, tuple(i.line.invoice_id for i in promised)))
    for channel, invoice_ids in sorted(fixes.items()):
        plan.tasks.append(TaskOrder("fix_contact", cid, tuple(sorted(set(invoice_ids))), channel=channel))


def _was_done(item: _Item, groups: dict[str, list[_Item]]) -> bool:
    return any(item in group for group in groups.values())


def _message(
    customer: CustomerState,
    scenario: ScenarioSpec,
    channel: str,
    group: list[_Item],
    facts: _Customers,
    today: date,
    config: Config,
) -> Message:
    top = max(group, key=lambda i: i.rank)
    lines = tuple(sorted((i.line for i in group), key=lambda line: (line.number, line.step_code)))
    in_message = {line.invoice_id for line in lines}
    policy = config.policy
    if facts.others is not None:
        other_ids = tuple(i for i in facts.others.get(customer.id, ()) if i not in in_message)
    else:
        others = []
        for inv in facts.invoices.get(customer.id, ()):
            if inv.id in in_message or inv.due_date >= today or hold_reason(inv, customer, today, policy):
                continue
            others.append(inv)
        others.sort(key=lambda inv: (inv.due_date, inv.number))
        other_ids = tuple(inv.id for inv in others)
    only_instalments = all(i.instalment_id is not None for i in group)
    return Message(
        customer_id=customer.id,
        channel=channel,
        scenario_code=INSTALMENT_SCENARIO.code if only_instalments else scenario.code,
        step_code=top.step.code,
        template=template_for(top.step, channel),
        tone=top.step.tone,
        needs_approval=any(i.step.needs_approval for i in group),
        registered=top.step.registered and channel == "letter",
        lines=lines,
        other_overdue=other_ids,
        total_due=sum((line.balance for line in lines), ZERO),
        fallback_from=top.step.channel if top.step.channel != channel else "",
    )


def _done(item: _Item, scenario: ScenarioSpec, today: date, config: Config, plan: DayPlan) -> None:
    """Record the item as performed today and give the invoice its next date."""
    if item.instalment_id is not None:
        plan.instalment_advances.append(InstalmentAdvance(item.instalment_id, item.step.code, today))
        return
    inv = item.inv
    assert inv is not None
    if item.promise_id is not None:
        plan.broken_promises.append(item.promise_id)
        # The scenario resumes at its next step, counting its gap from the broken-promise message.
        last_step, outcome = inv.last_step, inv.call_outcome_on
    else:
        last_step, outcome = item.step.code, None
    nxt = next_step(scenario, inv.due_date, inv.issue_date, last_step, today, today, config.policy, outcome)
    plan.advances.append(Advance(inv.id, last_step, today, nxt[1] if nxt else None, performed=True))


def _not_done(item: _Item, today: date, plan: DayPlan) -> None:
    # No usable channel (or the channel already had its message today): try again tomorrow.
    if item.inv is not None:
        plan.advances.append(Advance(item.inv.id, item.inv.last_step, item.inv.last_date, today + ONE_DAY))


def simulate(
    config: Config,
    customers: Mapping[int, CustomerState],
    invoices: Iterable[InvoiceState],
    start: date,
    days: int,
    plans: Iterable[PlanState] = (),
) -> list[DayPlan]:
    """Plan `days` runs from `start`, each applied to the states before the next (nothing is paid,
    no call gets an answer): the forecast."""
    state = {inv.id: inv for inv in invoices}
    plan_state = {p.id: p for p in plans}
    out = []
    for n in range(days):
        day = start + timedelta(days=n)
        # Only the invoices whose indexed date has come, as the real run reads them.
        candidates = {i for i, inv in state.items() if inv.next_date is None or inv.next_date <= day}
        result = plan_day(config, customers, list(state.values()), day, list(plan_state.values()), candidates)
        out.append(result)
        broken = set(result.broken_promises)
        for adv in result.advances:
            inv = state[adv.invoice_id]
            promise = None if inv.promise is not None and inv.promise.id in broken else inv.promise
            state[adv.invoice_id] = replace(
                inv, last_step=adv.last_step, last_date=adv.last_date, next_date=adv.next_date, promise=promise
            )
        if result.instalment_advances:
            moved = {a.instalment_id: a for a in result.instalment_advances}
            for pid, p in plan_state.items():
                insts = tuple(
                    replace(i, last_step=moved[i.id].last_step, last_date=moved[i.id].last_date) if i.id in moved else i
                    for i in p.instalments
                )
                plan_state[pid] = replace(p, instalments=insts)
    return out
