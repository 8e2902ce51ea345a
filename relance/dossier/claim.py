"""The claim on a customer's invoices, invoice by invoice: principal, late-payment interest and the
fixed indemnity, computed by the function the formal notice letter, the invoice page and
`relance interest` use (relance.dunning.interest.get_invoice_claim: interest on each day's balance),
and the recovery costs recorded beyond the indemnity (relance.law.recovery_costs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from relance.channels.context import invoice_line
from relance.dunning.interest import get_invoice_claim
from relance.dunning.models import CostKind
from relance.law.late_payment import BASIS
from relance.law.recovery_costs import RecoveryCosts, recovery_costs
from relance.lib.money import ZERO, cents

# Procédure simplifiée de recouvrement des petites créances (CPCE L125-1, R125-1): principal and
# interest up to this amount.
SMALL_CLAIMS_MAX = Decimal("5000.00")


@dataclass
class ClaimLine:
    number: str
    issue_date: date
    due_date: date
    total: Decimal
    paid: Decimal
    balance: Decimal
    days_late: int
    interest: Decimal
    indemnity: Decimal
    currency: str
    periods: list[dict] = field(default_factory=list)

    @property
    def claimed(self) -> Decimal:
        return self.balance + self.interest + self.indemnity


@dataclass
class CostLine:
    """A recovery cost recorded (relance.dunning.models.RecoveryCost), as the documents show it."""

    pk: int
    day: date
    kind: str
    kind_label: str  # French, as the escalation documents are
    amount: Decimal
    label: str
    invoice: str  # the invoice's number, "" for the whole debt
    document: str  # the supporting document's stored name, "" when none

    @property
    def description(self) -> str:
        return " — ".join(x for x in (self.kind_label, self.label) if x)


@dataclass
class Claim:
    as_of: date
    kind: str  # the debtor's kind: business, consumer, public
    basis: str
    lines: list[ClaimLine]
    cost_lines: list[CostLine] = field(default_factory=list)

    @property
    def recovery(self) -> RecoveryCosts:
        """The costs recorded, and the complementary costs claimed beyond the fixed indemnity (the law's rule)."""
        return recovery_costs(self.kind, self.costs_incurred, self.indemnity)

    @property
    def costs_incurred(self) -> Decimal:
        return sum((c.amount for c in self.cost_lines), ZERO)

    @property
    def costs(self) -> Decimal:
        """The complementary recovery costs claimed (0 for a consumer, whatever was incurred)."""
        return self.recovery.claimed

    @property
    def principal(self) -> Decimal:
        return sum((line.balance for line in self.lines), ZERO)

    @property
    def interest(self) -> Decimal:
        return sum((line.interest for line in self.lines), ZERO)

    @property
    def indemnity(self) -> Decimal:
        return sum((line.indemnity for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.indemnity + self.costs

    @property
    def currency(self) -> str:
        return self.lines[0].currency if self.lines else "EUR"


def cost_lines(costs: Iterable, invoices: Iterable | None = None) -> list[CostLine]:
    """RecoveryCost rows as claim lines; with `invoices`, only the costs of the whole debt or of one of
    them (an escalation about some invoices does not claim the costs of the others)."""
    ids = None if invoices is None else {inv.pk for inv in invoices}
    return [CostLine(pk=c.pk, day=c.date, kind=c.kind, kind_label=str(CostKind(c.kind).label), amount=c.amount,
                     label=c.label, invoice=c.invoice.number if c.invoice_id else "", document=c.document.name or "")
            for c in costs if ids is None or c.invoice_id is None or c.invoice_id in ids]


def compute_claim(kind: str, invoices: Iterable, today: date, costs: Iterable = ()) -> Claim:
    """The claim on these invoices (Invoice rows, their open balances) as of `today`; only overdue
    invoices bear interest and the indemnity, as in the formal notice. `costs`: the RecoveryCost rows
    to count (relance.dunning.queries.list_costs), filtered to these invoices."""
    invoices = list(invoices)
    lines = []
    for invoice in sorted(invoices, key=lambda i: (i.due_date, i.number)):
        row = invoice_line(invoice, today)
        overdue = row["days_late"] > 0 and row["balance"] > 0
        # The claim the formal notice, the invoice page and `relance interest` state (one computation).
        claim = get_invoice_claim(invoice, today) if overdue else None
        interest = claim.interest.amount if claim else ZERO
        periods = ([{"number": invoice.number, "start": p.start, "end": p.end, "days": p.days, "base": p.base,
                     "rate": p.rate, "amount": p.amount, "estimated": p.estimated} for p in claim.interest.periods]
                   if claim else [])
        indemnity = cents(claim.indemnity) if claim else ZERO
        lines.append(ClaimLine(
            number=invoice.number, issue_date=invoice.issue_date, due_date=invoice.due_date, total=invoice.total,
            paid=invoice.total - invoice.open_balance, balance=invoice.open_balance, days_late=max(row["days_late"], 0),
            interest=interest, indemnity=indemnity, currency=invoice.currency, periods=periods,
        ))
    return Claim(as_of=today, kind=kind, basis=BASIS.get(kind, BASIS["business"]), lines=lines,
                 cost_lines=cost_lines(costs, invoices))
