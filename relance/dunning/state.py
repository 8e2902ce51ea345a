"""The planner's plain data: what it is given (scenarios, customers, invoices, plans) and what it returns.

No ORM and no Django here: `relance.dunning.queries` builds these from the database, the tests
and the benchmarks build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

# Channels that carry a message to the customer (a "task" step only creates work for a person).
MESSAGE_CHANNELS = ("email", "sms", "letter", "call")
# The step that produces what comes after the formal notice (court request, agency file, write-off):
# it needs no contact of the customer (relance.channels.escalation).
ESCALATION = "escalation"
ALL_CHANNELS = frozenset(MESSAGE_CHANNELS)
TONE_RANK = {"friendly": 0, "firm": 1, "formal": 2}

# Statuses in which an invoice is never reminded whatever its balance says.
CLOSED_STATUSES = frozenset({"paid", "cancelled", "written_off"})


@dataclass(frozen=True, slots=True)
class StepSpec:
    code: str
    position: int
    offset_days: int
    channel: str
    template: str = ""
    tone: str = "friendly"
    anchor: str = "due"  # "due" or "issue"
    needs_approval: bool = False
    registered: bool = False
    min_gap_days: int = 5
    # Conditional step: skipped when a call outcome was logged since the previous (call) step; it is
    # not due before this many business days after that call.
    unless_call_outcome_within: int | None = None
    # The step also gives the collector a call task (high-risk "firm e-mail plus call").
    with_call_task: bool = False

    @classmethod
    def build(cls, code: str, position: int, offset_days: int, channel: str, options: dict | None = None, **kw):
        """A step from its stored fields, reading the conditional rules from Step.options."""
        options = options or {}
        within = options.get("unless_call_outcome_within_business_days")
        return cls(
            code, position, offset_days, channel,
            unless_call_outcome_within=None if within is None else int(within),
            with_call_task=bool(options.get("with_call_task", False)),
            **kw,
        )


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    code: str
    steps: tuple[StepSpec, ...]
    name: str = ""
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({s.code: i for i, s in enumerate(self.steps)})

    def index_of(self, code: str) -> int | None:
        return self._index.get(code)

    def step(self, code: str) -> StepSpec | None:
        i = self._index.get(code)
        return None if i is None else self.steps[i]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """Scenario choice rule: condition in strategic, consumer, small_amount, segment, always."""

    condition: str
    value: str
    scenario_code: str


@dataclass(frozen=True, slots=True)
class Policy:
    min_amount: Decimal = Decimal("10.00")
    small_amount_threshold: Decimal = Decimal("150.00")
    promise_grace_business_days: int = 2
    warn_days: int = 7
    country: str = "FR"
    subdiv: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """Everything about an organisation the planner needs: its policy, scenarios and rules."""

    scenarios: dict[str, ScenarioSpec]
    rules: tuple[RuleSpec, ...]
    policy: Policy = Policy()
    default_scenario: str = "standard"


@dataclass(frozen=True, slots=True)
class CustomerState:
    id: int
    external_id: str = ""
    name: str = ""
    kind: str = "business"
    strategic: bool = False
    segment: str = "medium"
    scenario_code: str = ""  # explicit choice, wins over the rules
    paused_until: date | None = None
    # Channels with a usable contact: email (valid address), sms (valid mobile), call (valid phone),
    # letter (postal address).
    channels: frozenset[str] = ALL_CHANNELS
    collector_id: int | None = None
    language: str = "fr"
    segment_locked: bool = False  # a person chose the segment: the score does not change it
    # Date of the opening judgment of insolvency proceedings (procédure collective), when under one.
    insolvency_date: date | None = None


@dataclass(frozen=True, slots=True)
class PromiseState:
    id: int
    promised_date: date


@dataclass(frozen=True, slots=True)
class InvoiceState:
    id: int
    customer_id: int
    number: str
    issue_date: date
    due_date: date
    balance: Decimal
    status: str = "open"
    last_step: str = ""
    last_date: date | None = None
    next_date: date | None = None
    disputed: bool = False
    promise: PromiseState | None = None
    in_plan: bool = False
    # Date a call outcome (a conversation, not "no answer") was logged for this invoice's last call.
    call_outcome_on: date | None = None
    # The customer answered on the portal (paid, disputes, asks for a plan) about this invoice and no
    # collector has handled the answer yet (relance.portal).
    portal_request: bool = False
    # A formal notice naming this invoice was refused at approval (skipped by a person): no escalation.
    notice_refused: bool = False


@dataclass(frozen=True, slots=True)
class InstalmentState:
    id: int
    position: int
    due_date: date
    amount: Decimal
    remaining: Decimal
    last_step: str = ""
    last_date: date | None = None


@dataclass(frozen=True, slots=True)
class PlanState:
    """An active payment plan: its invoices are not dunned, its instalments are."""

    id: int
    customer_id: int
    invoice_ids: tuple[int, ...]
    # Instalment lines point at this invoice (a reminder line needs one) and carry the instalment id.
    anchor_invoice_id: int
    anchor_number: str
    instalments: tuple[InstalmentState, ...]


# ---- what the planner returns ----


@dataclass(frozen=True, slots=True)
class Line:
    invoice_id: int
    number: str
    step_code: str
    balance: Decimal
    instalment_id: int | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one customer on one channel for one run."""

    customer_id: int
    channel: str
    scenario_code: str
    step_code: str  # the most advanced step among the lines: its wording is used
    template: str
    tone: str
    needs_approval: bool
    registered: bool
    lines: tuple[Line, ...]
    other_overdue: tuple[int, ...]  # the customer's other overdue invoices, shown in the message
    total_due: Decimal  # sum of the lines' balances
    fallback_from: str = ""  # the channel the steps asked for, when it had no usable contact


@dataclass(frozen=True, slots=True)
class Advance:
    """An invoice's dunning state after the run (written to its InvoiceSchedule)."""

    invoice_id: int
    last_step: str
    last_date: date | None
    next_date: date | None
    performed: bool = False


@dataclass(frozen=True, slots=True)
class InstalmentAdvance:
    instalment_id: int
    last_step: str
    last_date: date


@dataclass(frozen=True, slots=True)
class TaskOrder:
    """Work for a person: kind in call, escalation, fix_contact, broken_promise."""

    kind: str
    customer_id: int
    invoice_ids: tuple[int, ...]
    step_code: str = ""
    channel: str = ""  # fix_contact: the channel without a usable contact
    message_channel: str = ""  # the message of this run the task belongs to (a call task's reminder)


@dataclass(slots=True)
class DayPlan:
    day: date
    messages: list[Message] = field(default_factory=list)
    advances: list[Advance] = field(default_factory=list)
    tasks: list[TaskOrder] = field(default_factory=list)
    broken_promises: list[int] = field(default_factory=list)
    instalment_advances: list[InstalmentAdvance] = field(default_factory=list)

    def by_channel(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for m in self.messages:
            counts[m.channel] = counts.get(m.channel, 0) + 1
        return counts
