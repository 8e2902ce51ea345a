"""Reads of the matching page: the review queue (with its invoices' numbers) and the unapplied cash per
customer, both from relance.ledger.match_queries (the CLI's reads): one query per block."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from relance.accounts.models import Organisation
from relance.ledger.match_queries import get_proposal, list_review_queue, list_unapplied_cash
from relance.ledger.models import Customer, MatchProposal, Payment
from relance.ledger.reconcile import threshold_of

QUEUE_LIMIT = 100


@dataclass
class MatchingPage:
    queue: list[MatchProposal]
    more: bool
    credits: list[tuple[Customer, Decimal]]
    threshold: int


def get_matching_page(org: Organisation) -> MatchingPage:
    queue = list_review_queue(org, limit=QUEUE_LIMIT + 1)
    return MatchingPage(queue[:QUEUE_LIMIT], len(queue) > QUEUE_LIMIT, list_unapplied_cash(org), threshold_of(org))


def get_org_proposal(org: Organisation, pk: int) -> MatchProposal | None:
    try:
        return get_proposal(org, pk)
    except MatchProposal.DoesNotExist:
        return None


def get_org_payment(org: Organisation, pk: int) -> Payment | None:
    return Payment.objects.filter(organisation=org, pk=pk).first()
