"""Reads of payment matching, shared by `relance match review` and the matching page."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from relance.accounts.models import Organisation
from relance.ledger.models import Allocation, Customer, Invoice, MatchProposal, Payment, ProposalState

# The queue: proposals waiting for a decision, and rejected ones whose payment waits to be assigned by hand
# (assigning confirms the proposal: it leaves the queue).
QUEUE_STATES = [ProposalState.PROPOSED, ProposalState.REJECTED]


def list_review_queue(org: Organisation, limit: int | None = None) -> list[MatchProposal]:
    """The proposals waiting for review, most confident first, with their invoices' numbers
    (`proposal.lines`: [(number, amount)]) read in one more query."""
    queue = (MatchProposal.objects.filter(organisation=org, state__in=QUEUE_STATES)
             .select_related("payment", "customer").order_by("state", "-confidence", "payment__date", "pk"))
    proposals = list(queue[:limit] if limit else queue)
    ids = {a["invoice"] for p in proposals for a in p.allocations}
    numbers = dict(Invoice.objects.filter(organisation=org, pk__in=ids).values_list("pk", "number"))
    for p in proposals:
        p.lines = [(numbers.get(a["invoice"], "?"), Decimal(a["amount"])) for a in p.allocations]
    return proposals


def get_proposal(org: Organisation, pk: int) -> MatchProposal:
    return MatchProposal.objects.select_related("payment").get(organisation=org, pk=pk)


def list_unapplied_cash(org: Organisation) -> list[tuple[Customer, Decimal]]:
    """Per customer, what its payments hold beyond their allocations (credit to use), largest first."""
    paid = dict(Payment.objects.filter(organisation=org, customer__isnull=False).values("customer")
                .order_by().annotate(s=Sum("amount")).values_list("customer", "s"))
    used = dict(Allocation.objects.filter(payment__organisation=org, payment__customer__isnull=False)
                .values("payment__customer").order_by().annotate(s=Sum("amount"))
                .values_list("payment__customer", "s"))
    left = {c: amount - used.get(c, Decimal("0")) for c, amount in paid.items()}
    left = {c: amount for c, amount in left.items() if amount > 0}
    customers = Customer.objects.in_bulk(list(left))
    return sorted(((customers[c], amount) for c, amount in left.items()), key=lambda row: (-row[1], row[0].name))
