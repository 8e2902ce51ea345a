"""The dunning rules, pure: which scenario a customer follows, an invoice's next step and its date,
when an invoice must not be reminded, and the one status every invoice shows."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from relance.dunning.state import (
    CLOSED_STATUSES,
    ESCALATION,
    Config,
    CustomerState,
    InvoiceState,
    Policy,
    ScenarioSpec,
    StepSpec,
)
from relance.lib.dates import add_business_days, next_business_day

ONE_DAY = timedelta(days=1)

# When the step's channel has no usable contact, the next available one (in this order).
FALLBACKS: dict[str, tuple[str, ...]] = {
    "email": ("letter", "sms"),
    "sms": ("email", "letter"),
    "call": ("email", "letter"),
    "letter": ("email",),
}

# A step performed on another channel than its own uses that channel's template of the same tone.
_TEMPLATE_BY_TONE = {
    "email": {"friendly": "first_reminder", "firm": "firm_reminder", "formal": "formal_notice"},
    "letter": {"friendly": "firm_reminder", "firm": "firm_reminder", "formal": "formal_notice"},
    "sms": {"friendly": "sms_reminder", "firm": "sms_reminder", "formal": "sms_reminder"},
    "call": {"friendly": "call_script", "firm": "call_script", "formal": "call_script"},
}

# Payment-plan instalments follow this fixed sequence (their own dates and amounts).
INSTALMENT_SCENARIO = ScenarioSpec(
    code="payment_plan",
    name="Échéancier",
    steps=(
        StepSpec("instalment-pre-due", 1, -3, "email", "instalment_reminder", "friendly", min_gap_days=0),
        StepSpec("instalment-late", 2, 3, "email", "instalment_late", "firm", min_gap_days=3),
        StepSpec("instalment-call", 3, 8, "call", "call_script", "firm", min_gap_days=3),
    ),
)

def template_for(step: StepSpec, channel: str) -> str:
    """The step's own template on its channel, else the template of the same tone on `channel`."""
    if channel == step.channel and step.template:
        return step.template
    return _TEMPLATE_BY_TONE.get(channel, {}).get(step.tone, step.template)


def fallback_channel(failed: str, available: frozenset[str], tried: frozenset[str] = frozenset()) -> str:
    """The channel that carries a message its own channel could not deliver ("" when none can)."""
    for other in FALLBACKS.get(failed, ()):
        if other in available and other not in tried:
            return other
    return ""


def tone_template(channel: str, tone: str, default: str = "") -> str:
    return _TEMPLATE_BY_TONE.get(channel, {}).get(tone, default)


def choose_scenario(customer: CustomerState, total_due: Decimal, config: Config) -> ScenarioSpec:
    """First match wins: the customer's explicit scenario, then the rules in order, then the default."""
    scenarios = config.scenarios
    if customer.scenario_code and customer.scenario_code in scenarios:
        return scenarios[customer.scenario_code]
    for rule in config.rules:
        if rule.scenario_code not in scenarios:
            continue  # inactive or deleted scenario: the rule does not apply
        if _matches(rule.condition, rule.value, customer, total_due, config.policy):
            return scenarios[rule.scenario_code]
    if config.default_scenario in scenarios:
        return scenarios[config.default_scenario]
    return next(iter(scenarios.values()))


def _matches(condition: str, value: str, customer: CustomerState, total_due: Decimal, policy: Policy) -> bool:
    if condition == "strategic":
        return customer.strategic
    if condition == "consumer":
        return customer.kind == "consumer"
    if condition == "public":
        return customer.kind == "public"
    if condition == "small_amount":
        threshold = Decimal(value) if value else policy.small_amount_threshold
        return total_due < threshold
    if condition == "segment":
        return customer.segment == value
    return condition == "always"


def step_date(
    step: StepSpec, due_date: date, issue_date: date, last_date: date | None, policy: Policy
) -> date:
    """When a step is due: the later of anchor + offset and the previous step + the minimum gap,
    moved to the next business day."""
    anchor = issue_date if step.anchor == "issue" else due_date
    day = anchor + timedelta(days=step.offset_days)
    if last_date is not None:
        day = max(day, last_date + timedelta(days=step.min_gap_days), last_date + ONE_DAY)
        if step.unless_call_outcome_within is not None:
            # The call gets its business days to produce an outcome before the e-mail goes.
            window_end = add_business_days(last_date, step.unless_call_outcome_within, policy.country, policy.subdiv)
            day = max(day, window_end + ONE_DAY)
    return next_business_day(day, policy.country, policy.subdiv)


def next_step(
    scenario: ScenarioSpec,
    due_date: date,
    issue_date: date,
    last_step: str,
    last_date: date | None,
    today: date,
    policy: Policy,
    call_outcome_on: date | None = None,
) -> tuple[StepSpec, date] | None:
    """The step after the last one performed and the date it is due, or None when the scenario is done."""
    steps = scenario.steps
    if not last_step:
        start = 0
    else:
        i = scenario.index_of(last_step)
        if i is not None:
            start = i + 1
        else:
            # The customer changed scenario: resume at the first step planned after the last one done.
            start = len(steps)
            for j, s in enumerate(steps):
                anchor = issue_date if s.anchor == "issue" else due_date
                if last_date is None or anchor + timedelta(days=s.offset_days) > last_date:
                    start = j
                    break
    overdue = today > due_date
    for s in steps[start:]:
        anchor = issue_date if s.anchor == "issue" else due_date
        if overdue and anchor + timedelta(days=s.offset_days) < due_date:
            continue  # a step meant for before the due date makes no sense once the invoice is late
        if (
            s.unless_call_outcome_within is not None
            and call_outcome_on is not None
            and (last_date is None or call_outcome_on >= last_date)
        ):
            continue  # the call reached someone: no firm e-mail
        return s, step_date(s, due_date, issue_date, last_date, policy)
    return None


def invoice_next(
    inv: InvoiceState, scenario: ScenarioSpec, today: date, policy: Policy
) -> tuple[StepSpec, date] | None:
    found = next_step(
        scenario, inv.due_date, inv.issue_date, inv.last_step, inv.last_date, today, policy, inv.call_outcome_on
    )
    if found is not None and escalation_barred(inv, found[0]):
        return None  # the scenario ends here for this invoice
    return found


def escalation_barred(inv: InvoiceState, step: StepSpec) -> bool:
    """A formal notice refused at approval (skipped) stops the escalation of its invoices: no court
    request, agency file or write-off rests on a notice that was never sent. The one place of this rule
    (the planner and the invoice status both read invoice_next)."""
    return step.channel == ESCALATION and inv.notice_refused


def excluded(inv: InvoiceState, policy: Policy) -> str:
    """Why an invoice is never reminded, whatever the date ("" when it may be)."""
    if inv.balance <= 0 or inv.status in CLOSED_STATUSES:
        return "settled"
    if inv.disputed or inv.status == "disputed":
        return "disputed"
    if inv.in_plan:
        return "plan"
    if inv.balance < policy.min_amount:
        return "below_minimum"
    return ""


def under_insolvency(inv: InvoiceState, customer: CustomerState) -> bool:
    """A claim born before the opening judgment of insolvency proceedings may no longer be demanded
    (Code de commerce L622-7 and L622-21): it is declared to the mandataire judiciaire instead. The
    judgment takes effect at 0h on its date, so an invoice issued that day is a later claim."""
    return customer.insolvency_date is not None and inv.issue_date < customer.insolvency_date


def hold_reason(inv: InvoiceState, customer: CustomerState, today: date, policy: Policy) -> str:
    """Why no reminder about this invoice may go out today ("" when one may).

    The one eligibility rule: the planner applies it when it plans, and delivery applies it again
    right before the send (relance.dunning.actions.revalidate_reminder). The reasons: settled,
    disputed, plan, below_minimum (never, whatever the date), insolvency (not while the proceedings
    last), portal (the customer answered on the portal: until a collector handles the answer),
    promise (until the promised date plus the grace), paused (until the pause ends)."""
    reason = excluded(inv, policy)
    if reason:
        return reason
    if under_insolvency(inv, customer):
        return "insolvency"
    if inv.portal_request:
        return "portal"
    if inv.promise is not None and today <= promise_grace_end(inv.promise.promised_date, policy):
        return "promise"
    if is_paused(customer, today):
        return "paused"
    return ""


def promise_grace_end(promised_date: date, policy: Policy) -> date:
    """Last day a promise protects an invoice: the promised date plus the grace in business days."""
    return add_business_days(promised_date, policy.promise_grace_business_days, policy.country, policy.subdiv)


def is_paused(customer: CustomerState, today: date) -> bool:
    return customer.paused_until is not None and today <= customer.paused_until


def invoice_status(
    inv: InvoiceState, customer: CustomerState, scenario: ScenarioSpec, today: date, policy: Policy
) -> str:
    """The one status an invoice shows (a key of relance.dunning.labels.STATUS_LABELS)."""
    if inv.balance <= 0 or inv.status in CLOSED_STATUSES:
        return "settled"
    if inv.disputed or inv.status == "disputed":
        return "disputed"
    if inv.in_plan:
        return "plan"
    if under_insolvency(inv, customer):
        return "insolvency"
    if inv.portal_request:
        return "portal"
    if is_paused(customer, today):
        return "paused"
    if inv.promise is not None and today <= promise_grace_end(inv.promise.promised_date, policy):
        return "promise"
    last = scenario.step(inv.last_step) if inv.last_step else None
    if last is not None and last.tone == "formal":
        return "to_formalise"
    upcoming = invoice_next(inv, scenario, today, policy)
    if upcoming is not None and upcoming[0].tone == "formal" and upcoming[1] <= today:
        return "to_formalise"
    if inv.due_date < today:
        return "to_remind"
    if (inv.due_date - today).days <= policy.warn_days:
        return "to_warn"
    return "not_due"


def spread_plan_payments(amounts: list[Decimal], paid: Decimal) -> list[Decimal]:
    """What remains due on each instalment when `paid` has been received, the oldest paid first."""
    remaining = []
    for amount in amounts:
        used = min(amount, max(paid, Decimal("0")))
        paid -= used
        remaining.append(amount - used)
    return remaining
