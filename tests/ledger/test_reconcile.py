"""Reconciling payments on the database: what is applied, what waits for review, what is learnt, and a
planned reminder of an invoice paid meanwhile that is never sent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from relance.channels.delivery import deliver_pending
from relance.ledger.balances import AllocationError, allocate_many
from relance.ledger.match_actions import ProposalError, assign_payment, confirm_proposal, reject_proposal
from relance.ledger.models import Allocation, Invoice, KnownPayer, MatchProposal, MatchSettings, Payment
from relance.ledger.reconcile import reconcile
from tests.channels.email_support import make_reminder

D = Decimal
IBAN = "FR7630006000011234567890189"


@pytest.fixture
def pay(org):
    def make(amount, reference="", payer_name="DUPONT", payer_iban=IBAN, customer=None):
        return Payment.objects.create(organisation=org, date=date(2026, 7, 1), amount=D(amount),
                                      reference=reference, payer_name=payer_name, payer_iban=payer_iban,
                                      customer=customer)
    return make


def _balance(invoice) -> Decimal:
    return Invoice.objects.get(pk=invoice.pk).open_balance


def test_a_payment_quoting_its_invoice_is_applied_and_its_payer_learnt(org, customer, make_invoice, pay):
    invoice = make_invoice(total="1200.00", number="FA-2026-0012")
    payment = pay("1200.00", "VIR DUPONT FACT FA2026 12")

    result = reconcile(org)

    assert (result.applied, result.queued, result.allocated) == (1, 0, D("1200.00"))
    assert _balance(invoice) == 0 and Invoice.objects.get(pk=invoice.pk).status == "paid"
    payment.refresh_from_db()
    assert payment.customer_id == customer.pk
    proposal = payment.match_proposal
    assert (proposal.state, proposal.auto, proposal.rule, proposal.confidence) == ("confirmed", True, "number", 90)
    assert set(KnownPayer.objects.values_list("kind", "value", "customer_id")) == {
        ("iban", IBAN, customer.pk), ("name", "DUPONT", customer.pk)}


def test_reconciling_twice_does_nothing_more(org, customer, make_invoice, pay):
    make_invoice(total="100.00", number="FA-2026-0001")
    pay("100.00", "FA-2026-0001")
    pay("5.00", "rien")
    first = reconcile(org)
    second = reconcile(org)
    assert (first.applied, first.queued) == (1, 1)
    assert (second.applied, second.queued) == (0, 0)
    assert Allocation.objects.count() == 1 and MatchProposal.objects.count() == 2


def test_a_payer_learnt_once_is_recognised_next_time(org, customer, make_invoice, pay):
    make_invoice(total="100.00", number="FA-2026-0001")
    later = make_invoice(total="250.00", number="FA-2026-0002")
    pay("100.00", "FA-2026-0001")
    reconcile(org)
    second = pay("250.00", "virement", payer_name="")  # no number: its IBAN speaks for it
    reconcile(org)
    proposal = MatchProposal.objects.get(payment=second)
    assert (proposal.rule, proposal.state, proposal.payer_known_by) == ("amount", "confirmed", "iban")
    assert _balance(later) == 0


def test_an_overpayment_leaves_a_credit_on_the_customer(org, customer, make_invoice, pay):
    make_invoice(total="100.00", number="FA-2026-0001")
    payment = pay("130.00", "FA-2026-0001")
    reconcile(org)
    payment.refresh_from_db()
    assert payment.customer_id == customer.pk
    assert payment.amount - sum(a.amount for a in payment.allocations.all()) == D("30.00")


def test_unsure_proposals_wait_for_a_person_who_confirms_them(org, customer, make_invoice, pay, alice):
    first = make_invoice(total="100.00", number="FA-2026-0001", due=date(2026, 5, 1))
    second = make_invoice(total="300.00", number="FA-2026-0002", due=date(2026, 6, 1))
    payment = pay("150.00", "acompte", customer=customer)  # oldest first: confidence 50

    assert reconcile(org).queued == 1
    proposal = MatchProposal.objects.get(payment=payment)
    assert proposal.state == "proposed" and _balance(first) == D("100.00")

    confirm_proposal(proposal, user=alice)

    assert (_balance(first), _balance(second)) == (D("0.00"), D("250.00"))
    proposal.refresh_from_db()
    assert proposal.state == "confirmed" and proposal.decided_by == alice and not proposal.auto
    assert KnownPayer.objects.filter(customer=customer, kind="iban").exists()
    with pytest.raises(ProposalError):
        confirm_proposal(proposal, user=alice)


def test_a_rejected_proposal_leaves_the_payment_to_assign_by_hand(org, customer, make_invoice, pay, bob):
    invoice = make_invoice(total="300.00", number="FA-2026-0002")
    payment = pay("150.00", "acompte", customer=customer)
    reconcile(org)
    reject_proposal(MatchProposal.objects.get(payment=payment), user=bob)
    assert _balance(invoice) == D("300.00")

    proposal = assign_payment(payment, invoice, D("100.00"), user=bob)
    assign_payment(payment, invoice, user=bob)  # the rest

    assert _balance(invoice) == D("150.00")
    proposal.refresh_from_db()
    assert (proposal.state, proposal.rule) == ("confirmed", "manual")
    assert [a["amount"] for a in proposal.allocations] == ["100.00", "50.00"]


def test_the_organisation_threshold_overrides_the_default(org, customer, make_invoice, pay):
    MatchSettings.objects.create(organisation=org, threshold=99)
    invoice = make_invoice(total="100.00", number="FA-2026-0001")
    pay("100.00", "FA-2026-0001")
    assert (reconcile(org).applied, _balance(invoice)) == (0, D("100.00"))


def test_only_the_payments_asked_for_are_reconciled(org, customer, make_invoice, pay):
    make_invoice(total="100.00", number="FA-2026-0001")
    make_invoice(total="200.00", number="FA-2026-0002")
    pay("100.00", "FA-2026-0001")
    second = pay("200.00", "FA-2026-0002")
    assert reconcile(org, payment_ids=[second.pk]).applied == 1
    assert list(MatchProposal.objects.values_list("payment_id", flat=True)) == [second.pk]


def test_someone_of_another_organisation_may_not_reconcile(org, charlie):
    with pytest.raises(PermissionDenied):
        reconcile(org, user=charlie)


def test_allocate_many_is_all_or_nothing(org, customer, make_invoice, pay):
    invoice = make_invoice(total="100.00")
    payment = pay("500.00")
    with pytest.raises(AllocationError, match="dépasse le solde ouvert"):
        allocate_many(org.pk, [(payment.pk, invoice.pk, D("60.00")), (payment.pk, invoice.pk, D("60.00"))])
    assert Allocation.objects.count() == 0 and _balance(invoice) == D("100.00")


def test_a_reminder_planned_for_an_invoice_paid_by_a_reconciled_payment_is_not_sent(
        org, customer, make_invoice, pay, tmp_path):
    org.email_url = f"file://{tmp_path}"
    org.save()
    invoice = make_invoice(total="1200.00", number="FA-2026-0012")
    reminder = make_reminder(org, customer, [invoice])
    pay("1200.00", "Facture FA-2026-0012")

    reconcile(org)
    stats = deliver_pending(now=datetime(2026, 7, 10, 8, 0, tzinfo=UTC))

    reminder.refresh_from_db()
    assert (stats.sent, reminder.state) == (0, "cancelled")
    assert list(tmp_path.glob("*.eml")) == []


def test_a_payment_dated_after_today_waits(org, customer, make_invoice, pay):
    make_invoice(total="100.00", number="FA-2026-0001")
    pay("100.00", "FA-2026-0001")  # dated 2026-07-01
    assert reconcile(org, today=date(2026, 6, 30)).applied == 0
    assert reconcile(org, today=date(2026, 7, 1)).applied == 1
