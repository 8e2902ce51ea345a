"""The reports page's aged balance (get_aged_summary, get_aged_totals: today's running totals and what
happened after the date) equals the exports' (get_aged_balance: every invoice), on every day around a
hand-checked ledger and on random ledgers written through the ledger's actions, totals kept by those
writes (not rebuilt before reading)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relance.ledger import balances, totals
from relance.ledger.models import CreditNote, Customer, DayTotals, Invoice, Payment
from relance.reports.aged import get_aged_balance, get_aged_summary, get_aged_totals
from relance.reports.kpi import get_sales, list_monthly_sales
from tests.ledger.test_aged_balance import ledger  # noqa: F401  (the hand-checked ledger, a fixture)

D = Decimal
PARIS = ZoneInfo("Europe/Paris")


def assert_same(org, as_of: date, limit: int = 50) -> None:
    slow = get_aged_balance(org, as_of)
    fast = get_aged_summary(org, as_of, limit)
    assert fast.buckets == slow.buckets, as_of
    assert get_aged_totals(org, as_of).buckets == slow.buckets, as_of
    assert fast.customers_owing == len(slow.customers), as_of
    ranked = sorted(slow.customers, key=lambda c: (-c.total, c.name.casefold(), c.external_id))[:limit]
    assert [(c.customer_id, c.buckets) for c in fast.largest] == [(c.customer_id, c.buckets) for c in ranked], as_of


def test_every_day_around_the_hand_checked_ledger(org, ledger):  # noqa: F811
    day = date(2026, 5, 25)
    while day <= date(2027, 2, 15):
        assert_same(org, day, limit=1)
        assert_same(org, day)
        day += timedelta(days=1)


def test_the_hand_checked_figures_of_30_november(org, ledger):  # noqa: F811
    fast = get_aged_summary(org, date(2026, 11, 30), 50)
    assert fast.total == D("1100.00") and fast.overdue == D("800.00")
    assert [c.external_id for c in fast.largest] == ["C001", "C002"]
    assert fast.customers_owing == 2


def test_the_largest_keeps_ties_in_name_order(org, customer, make_invoice):
    names = ["Zeta", "alpha", "Beta", "gamma"]
    for i, name in enumerate(names):
        other = Customer.objects.create(organisation=org, external_id=f"T{i}", name=name)
        make_invoice("100.00", issue=date(2026, 9, 1), due=date(2026, 10, 1), cust=other)
    make_invoice("50.00", issue=date(2026, 9, 1), due=date(2026, 10, 1))
    largest = get_aged_summary(org, date(2026, 11, 1), limit=2).largest
    assert [c.name for c in largest] == ["alpha", "Beta"]  # four owe 100.00: the first two by name


def test_sales_come_from_the_running_totals(org, make_invoice):
    make_invoice("100.00", issue=date(2026, 10, 31), due=date(2026, 11, 30))
    make_invoice("250.00", issue=date(2026, 11, 1), due=date(2026, 12, 1))
    cancelled = make_invoice("999.00", issue=date(2026, 11, 2), due=date(2026, 12, 2))
    cancelled.status = "cancelled"
    cancelled.save()  # a single save is followed by the totals (signal)
    assert get_sales(org, date(2026, 11, 1), date(2026, 11, 30)) == D("250.00")
    months = list_monthly_sales(org, date(2026, 11, 30), months=2)
    assert months == [(date(2026, 11, 1), date(2026, 11, 30), D("250.00")),
                      (date(2026, 10, 1), date(2026, 10, 31), D("100.00"))]
    assert DayTotals.objects.filter(organisation=org).exists()


START = date(2026, 1, 1)


@st.composite
def ledgers(draw):
    """A ledger as a list of writes: invoices, payments, credit notes, outside settlements, write-offs."""
    n_customers = draw(st.integers(1, 4))
    invoices = draw(st.lists(st.tuples(st.integers(0, n_customers - 1), st.integers(0, 300), st.integers(0, 60),
                                       st.sampled_from(["100.00", "250.00", "333.33", "1000.00"])),
                             min_size=1, max_size=10))
    settlements = draw(st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["payment", "credit", "external"]),
                                          st.integers(0, 360), st.sampled_from(["10.00", "100.00", "99.99"])),
                                max_size=10))
    written_off = draw(st.sets(st.integers(0, 9), max_size=2))
    dates = draw(st.lists(st.integers(-10, 380), min_size=3, max_size=6))
    return n_customers, invoices, settlements, written_off, dates


@pytest.mark.django_db(transaction=False)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=ledgers())
def test_random_ledgers_kept_by_their_writes(org, case):
    n_customers, invoices, settlements, written_off, dates = case
    Invoice.objects.filter(organisation=org).delete()
    CreditNote.objects.filter(organisation=org).delete()
    Payment.objects.filter(organisation=org).delete()
    Customer.objects.filter(organisation=org).delete()
    totals.rebuild(org)  # the totals exist before the writes: the writes must keep them
    customers = [Customer.objects.create(organisation=org, external_id=f"R{i}", name=f"Client {i % 2}")
                 for i in range(n_customers)]
    made = []
    for n, (who, issued, term, amount) in enumerate(invoices):
        issue = START + timedelta(days=issued)
        made.append(Invoice.objects.create(
            organisation=org, customer=customers[who], number=f"H{n}", issue_date=issue,
            due_date=issue + timedelta(days=term), total=D(amount), open_balance=D(amount)))
    for n, (index, kind, day, amount) in enumerate(settlements):
        invoice = Invoice.objects.get(pk=made[index % len(made)].pk)
        amount = min(D(amount), invoice.open_balance)
        if amount <= 0:
            continue
        when = START + timedelta(days=day)
        if kind == "payment":
            payment = balances.record_payment(Payment(organisation=org, customer=invoice.customer, date=when,
                                                      amount=amount))
            balances.allocate(invoice, amount, payment=payment)
        elif kind == "credit":
            note = CreditNote.objects.create(organisation=org, customer=invoice.customer, number=f"A{n}", date=when,
                                             total=amount, invoice=invoice)
            balances.allocate(invoice, amount, credit_note=note)
        else:
            with time_machine.travel(datetime.combine(when, datetime.min.time(), PARIS) + timedelta(hours=12),
                                     tick=False):
                # The outside-settled part is replaced as a whole, dated from this write.
                before = sum(invoice.allocations.filter(source="external").values_list("amount", flat=True), D(0))
                balances.set_external_paid(invoice, before + amount)
    balances.write_off([made[i].pk for i in written_off if i < len(made)])
    for offset in dates:
        assert_same(org, START + timedelta(days=offset), limit=random.Random(offset).choice([1, 2, 50]))
