"""The review queue's writes: confirm or reject a proposal, assign a payment by hand (CLI and web alike).

Each goes through `balances` (the balances' one writer) and teaches the payer (reconcile.learn_payers).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import pgettext

from relance.accounts.permissions import SETTINGS, WRITE, require
from relance.audit import log as audit_log
from relance.ledger import balances
from relance.ledger.models import Invoice, MatchProposal, MatchSettings, Payment, ProposalState
from relance.ledger.reconcile import learn_payers
from relance.ledger.signals import ledger_changed


class ProposalError(ValueError):
    pass


def _announce(org, invoice_ids: list[int]) -> None:
    if invoice_ids:
        transaction.on_commit(lambda: ledger_changed.send(
            sender=confirm_proposal, organisation=org, invoice_ids=invoice_ids, insolvent_customer_ids=[]))


@transaction.atomic
def confirm_proposal(proposal: MatchProposal, user=None) -> MatchProposal:
    """Apply a waiting proposal as it stands (refused when a balance moved since: assign by hand then)."""
    require(user, proposal.organisation_id, WRITE)
    proposal = MatchProposal.objects.select_for_update().select_related("payment", "organisation").get(
        pk=proposal.pk)
    if proposal.state != ProposalState.PROPOSED:
        raise ProposalError(f"proposition {proposal.pk} : déjà {proposal.get_state_display()}")
    if not proposal.allocations and proposal.customer_id is None:
        raise ProposalError(f"proposition {proposal.pk} : rien à confirmer, affectez le paiement à une facture")
    rows = [(proposal.payment_id, a["invoice"], Decimal(a["amount"])) for a in proposal.allocations]
    balances.allocate_many(proposal.organisation_id, rows, user=user)
    if proposal.customer_id is not None:
        Payment.objects.filter(pk=proposal.payment_id, customer__isnull=True).update(customer=proposal.customer_id)
    _decide(proposal, ProposalState.CONFIRMED, user)
    learn_payers(proposal.organisation, [(proposal.customer_id, proposal.payment)])
    _announce(proposal.organisation, [i for _, i, _ in rows])
    return proposal


@transaction.atomic
def reject_proposal(proposal: MatchProposal, user=None) -> MatchProposal:
    """Refuse a waiting proposal: the payment stays unallocated, to assign by hand."""
    require(user, proposal.organisation_id, WRITE)
    proposal = MatchProposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.state != ProposalState.PROPOSED:
        raise ProposalError(f"proposition {proposal.pk} : déjà {proposal.get_state_display()}")
    _decide(proposal, ProposalState.REJECTED, user)
    return proposal


@transaction.atomic
def assign_payment(payment: Payment, invoice: Invoice, amount: Decimal | None = None, user=None) -> MatchProposal:
    """Allocate (part of) a payment to an invoice by hand: `amount` defaults to all that fits."""
    require(user, payment.organisation_id, WRITE)
    if invoice.organisation_id != payment.organisation_id:
        raise ProposalError("paiement et facture d'organisations différentes")
    if payment.customer_id not in (None, invoice.customer_id):
        raise ProposalError(f"paiement {payment.pk} : d'un autre client que la facture {invoice.number}")
    invoice.refresh_from_db(fields=["open_balance"])
    if amount is None:
        amount = min(balances.payment_unallocated(payment), invoice.open_balance)
    balances.allocate(invoice, amount, payment=payment, user=user)
    Payment.objects.filter(pk=payment.pk, customer__isnull=True).update(customer=invoice.customer_id)
    proposal, _ = MatchProposal.objects.select_for_update().get_or_create(
        payment=payment, defaults={"organisation_id": payment.organisation_id, "rule": "manual", "reason": ""})
    done = list(proposal.allocations) if proposal.state == ProposalState.CONFIRMED else []
    proposal.allocations = [*done, {"invoice": invoice.pk, "amount": str(amount)}]
    proposal.customer_id = invoice.customer_id
    proposal.rule, proposal.confidence, proposal.auto = "manual", 100, False
    proposal.reason = pgettext("matching", "Assigned by hand to invoice %(number)s.") % {"number": invoice.number}
    _decide(proposal, ProposalState.CONFIRMED, user)
    learn_payers(payment.organisation, [(invoice.customer_id, payment)])
    _announce(payment.organisation, [invoice.pk])
    return proposal


@transaction.atomic
def set_match_settings(org, *, threshold: int | None = None, oldest_first: bool | None = None,
                       clear_threshold: bool = False, user=None) -> MatchSettings:
    """The organisation's own threshold (0-101; cleared: the instance's) and oldest-first choice."""
    require(user, org, SETTINGS)
    if threshold is not None and not 0 <= threshold <= 101:
        raise ProposalError(f"seuil {threshold} : attendu de 0 à 101 (101 : jamais d'office)")
    prefs, _ = MatchSettings.objects.select_for_update().get_or_create(organisation=org)
    if threshold is not None or clear_threshold:
        prefs.threshold = threshold
    if oldest_first is not None:
        prefs.oldest_first = oldest_first
    prefs.save()
    audit_log.record("match.settings", org, user, {"threshold": prefs.threshold, "oldest_first": prefs.oldest_first})
    return prefs


def _decide(proposal: MatchProposal, state: str, user) -> None:
    proposal.state, proposal.decided_at = state, timezone.now()
    proposal.decided_by = user if getattr(user, "pk", None) else None
    proposal.save()
    # Called inside the deciding action's transaction: the decision and its entry go together.
    audit_log.record("match." + str(state), proposal, user, {"payment": proposal.payment_id, "rule": proposal.rule,
                                                        "allocations": proposal.allocations})
