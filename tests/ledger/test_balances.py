from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relance.ledger import balances
from relance.ledger.models import Allocation, CreditNote, Customer, Invoice, Payment


def assert_invariant(invoice: Invoice) -> None:
    invoice.refresh_from_db()
    allocated = invoice.allocations.aggregate(s=Sum("amount"))["s"] or Decimal("0")
    assert invoice.open_balance == invoice.total - allocated
    assert invoice.status == balances.status_for(invoice.total, invoice.open_balance, invoice.status)


def test_a_partial_payment_leaves_the_invoice_partly_paid(org, customer, make_invoice):
    invoice = make_invoice("1500.00")
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 3), amount=500)
    balances.allocate(invoice, Decimal("500.00"), payment=payment)
    invoice.refresh_from_db()
    assert invoice.open_balance == Decimal("1000.00")
    assert invoice.status == "partly_paid"


def test_a_payment_and_a_credit_note_settle_the_invoice(org, customer, make_invoice):
    invoice = make_invoice("1500.00")
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 3), amount=1000)
    note = CreditNote.objects.create(organisation=org, customer=customer, number="AV1", date=date(2026, 7, 1),
                                     total=500)
    balances.allocate(invoice, Decimal("1000.00"), payment=payment)
    balances.allocate(invoice, Decimal("500.00"), credit_note=note)
    invoice.refresh_from_db()
    assert invoice.open_balance == 0
    assert invoice.status == "paid"


def test_it_refuses_to_allocate_more_than_the_payment_holds(org, customer, make_invoice):
    a, b = make_invoice("100.00"), make_invoice("100.00")
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 3), amount=150)
    balances.allocate(a, Decimal("100.00"), payment=payment)
    with pytest.raises(balances.AllocationError, match="non affecté"):
        balances.allocate(b, Decimal("60.00"), payment=payment)
    assert_invariant(b)


def test_it_refuses_to_allocate_more_than_the_open_balance(make_invoice):
    invoice = make_invoice("100.00")
    with pytest.raises(balances.AllocationError, match="solde ouvert"):
        balances.allocate(invoice, Decimal("100.01"))


def test_a_disputed_invoice_stays_disputed_until_settled(make_invoice):
    invoice = make_invoice("100.00")
    Invoice.objects.filter(pk=invoice.pk).update(status="disputed")
    balances.allocate(invoice, Decimal("40.00"))
    invoice.refresh_from_db()
    assert invoice.status == "disputed"
    balances.allocate(invoice, Decimal("60.00"))
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_set_external_paid_replaces_the_outside_settlement(make_invoice):
    invoice = make_invoice("300.00")
    balances.set_external_paid(invoice, Decimal("100.00"))
    balances.set_external_paid(invoice, Decimal("250.00"))
    invoice.refresh_from_db()
    assert invoice.open_balance == Decimal("50.00")
    assert Allocation.objects.filter(invoice=invoice).count() == 1


cents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
operations = st.lists(
    st.tuples(st.sampled_from(["pay", "credit", "external", "undo"]), cents), min_size=1, max_size=12
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(total=cents, ops=operations)
def test_the_open_balance_is_always_total_minus_allocations(org, customer, total, ops):
    invoice = Invoice.objects.create(
        organisation=org, customer=customer, number=f"H{Invoice.objects.count()}", issue_date=date(2026, 1, 1),
        due_date=date(2026, 1, 31), total=total, open_balance=total,
    )
    for kind, amount in ops:
        invoice.refresh_from_db()
        if kind == "undo":
            last = invoice.allocations.order_by("-pk").first()
            if last:
                balances.unallocate(last)
        elif amount > invoice.open_balance:
            with pytest.raises(balances.AllocationError):
                balances.allocate(invoice, amount)
        elif kind == "pay":
            payment = Payment.objects.create(organisation=org, date=date(2026, 2, 1), amount=amount)
            balances.allocate(invoice, amount, payment=payment)
        elif kind == "credit":
            note = CreditNote.objects.create(organisation=org, customer=customer, date=date(2026, 2, 1),
                                             number=f"AV{CreditNote.objects.count()}", total=amount)
            balances.allocate(invoice, amount, credit_note=note)
        else:
            balances.allocate(invoice, amount)
        assert_invariant(invoice)
    assert invoice.open_balance >= 0


@given(total=cents, balance=st.decimals(min_value=Decimal("-100"), max_value=Decimal("5000"), places=2),
       current=st.sampled_from(["open", "partly_paid", "paid", "disputed", "written_off", "cancelled"]))
def test_status_for_is_total(total, balance, current):
    status = balances.status_for(total, balance, current)
    if balance <= 0:
        assert status == "paid"
    elif current in {"disputed", "written_off", "cancelled"}:
        assert status == current
    else:
        assert status in {"open", "partly_paid"}


def test_record_payment_saves_a_new_payment_and_refuses_a_foreign_customer(org, other_org, customer):
    new = Payment(organisation=org, customer=customer, date=date(2026, 7, 1), amount=Decimal("80.00"))
    payment = balances.record_payment(new)
    assert Payment.objects.get(pk=payment.pk).amount == Decimal("80.00")
    stranger = Customer.objects.create(organisation=other_org, external_id="X1", name="Ailleurs")
    with pytest.raises(balances.AllocationError, match="organisations différentes"):
        balances.record_payment(Payment(organisation=org, customer=stranger, date=date(2026, 7, 1),
                                        amount=Decimal("1.00")))
    with pytest.raises(balances.AllocationError, match="doit être positif"):
        balances.record_payment(Payment(organisation=org, date=date(2026, 7, 1), amount=Decimal("0")))


def test_delete_payment_reopens_what_it_paid(org, customer, make_invoice):
    invoice = make_invoice("100.00")
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 1),
                                     amount=Decimal("100.00"))
    balances.allocate(invoice, Decimal("100.00"), payment=payment)
    balances.delete_payment(payment)
    invoice.refresh_from_db()
    assert (invoice.open_balance, invoice.status) == (Decimal("100.00"), "open")
