"""The matching page: the review queue with reasons and confidence, confirm/reject/assign for writers,
the unapplied cash per customer, and the button that reconciles the new payments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from relance.ledger.models import Invoice, MatchProposal, Payment
from relance.ledger.reconcile import reconcile

URL = "/o/abc/rapprochement/"


@pytest.fixture
def queued(org, customer, make_invoice):
    """One payment applied (its number quoted), one waiting (oldest first for a known customer)."""
    make_invoice(total="100.00", number="FA-2026-0001", due=date(2026, 5, 1))
    make_invoice(total="300.00", number="FA-2026-0002", due=date(2026, 6, 1))
    Payment.objects.create(organisation=org, date=date(2026, 7, 1), amount=Decimal("100.00"),
                           reference="FACT FA-2026-0001")
    waiting = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 2),
                                     amount=Decimal("150.00"), reference="acompte juillet")
    reconcile(org)
    return MatchProposal.objects.get(payment=waiting)


def _balance(number: str) -> Decimal:
    return Invoice.objects.get(number=number).open_balance


def test_the_queue_shows_reasons_confidence_and_buttons_to_writers(client, bob, queued):
    client.force_login(bob)
    page = client.get(URL).content.decode()
    assert "acompte juillet" in page and "FA-2026-0002" in page
    assert f'id="proposal-{queued.pk}"' in page and ">50<" in page
    assert "oldest invoices first" in page or "plus anciennes" in page
    assert f"/rapprochement/propositions/{queued.pk}/confirmer/" in page
    assert "Matching" in page or "Rapprochement" in page  # the nav link


def test_a_viewer_sees_the_queue_without_buttons_and_may_not_post(client, victor, queued):
    client.force_login(victor)
    page = client.get(URL).content.decode()
    assert "acompte juillet" in page and "/confirmer/" not in page
    assert client.post(f"{URL}propositions/{queued.pk}/confirmer/").status_code == 403
    assert MatchProposal.objects.get(pk=queued.pk).state == "proposed"


def test_confirming_allocates_and_leaves_the_queue(client, bob, queued):
    client.force_login(bob)
    response = client.post(f"{URL}propositions/{queued.pk}/confirmer/", follow=True)
    assert response.redirect_chain[-1][0].endswith("/rapprochement/#queue")
    assert (_balance("FA-2026-0001"), _balance("FA-2026-0002")) == (Decimal("0.00"), Decimal("150.00"))
    assert "acompte juillet" not in response.content.decode()


def test_rejecting_then_assigning_by_hand(client, bob, queued):
    client.force_login(bob)
    client.post(f"{URL}propositions/{queued.pk}/rejeter/")
    assert MatchProposal.objects.get(pk=queued.pk).state == "rejected"
    response = client.post(f"{URL}paiements/{queued.payment_id}/affecter/",
                           {"invoice": "FA-2026-0002", "amount": "120,50"}, follow=True)
    assert _balance("FA-2026-0002") == Decimal("179.50")
    # The rest of the payment is the customer's unapplied cash.
    page = response.content.decode()
    assert "Dupont SARL" in page and ("29.50" in page or "29,50" in page)


def test_assigning_to_an_unknown_invoice_says_so(client, bob, queued):
    client.force_login(bob)
    response = client.post(f"{URL}paiements/{queued.payment_id}/affecter/", {"invoice": "NOPE"}, follow=True)
    assert "NOPE" in response.content.decode()
    assert _balance("FA-2026-0002") == Decimal("300.00")


def test_the_button_reconciles_the_new_payments(client, bob, org, customer, make_invoice):
    make_invoice(total="80.00", number="FA-2026-0009")
    Payment.objects.create(organisation=org, date=date(2026, 7, 1), amount=Decimal("80.00"), reference="FA2026 9")
    client.force_login(bob)
    client.post(f"{URL}lancer/")
    assert _balance("FA-2026-0009") == Decimal("0.00")


def test_another_organisation_gets_404(client, charlie, queued):
    client.force_login(charlie)
    assert client.get(URL).status_code == 404
    assert client.post(f"/o/xyz/rapprochement/propositions/{queued.pk}/confirmer/").status_code == 404
