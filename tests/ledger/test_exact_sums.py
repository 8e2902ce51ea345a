"""Sums of money are exact to the cent on both databases (relance.lib.money.MoneySum, db_cents).

The ledger: 1,000 amounts up to 9,999,999.99 whose exact sum is 5,043,110,755.33. SQLite adds its
decimals as binary floats: a plain Sum of them reads 5043110755.32999."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from relance.accounts.models import Organisation
from relance.ledger.models import Customer, Invoice, Payment
from relance.ledger.queries import get_aged_balance as todays_aged_balance
from relance.lib.money import MoneySum, db_cents
from relance.reports.aged import get_aged_balance
from relance.web.reads.dashboard import list_collected_by_month

EXACT = Decimal("5043110755.33")
DAY = date(2026, 11, 20)


def amounts() -> list[Decimal]:
    rng = random.Random(2)
    return [Decimal(rng.randint(1, 999_999_999)) / 100 for _ in range(1000)]


@pytest.fixture
def payments(org):
    Payment.objects.bulk_create([Payment(organisation=org, date=DAY, amount=a) for a in amounts()])
    assert sum(amounts()) == EXACT


@pytest.fixture
def invoices(org, customer):
    due = DAY - timedelta(days=45)
    Invoice.objects.bulk_create([
        Invoice(organisation=org, customer=customer, number=f"F{i:05d}", issue_date=due - timedelta(days=30),
                due_date=due, total=a, open_balance=a)
        for i, a in enumerate(amounts())
    ])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL adds numerics exactly anyway")
def test_the_ledger_is_one_a_plain_sum_gets_wrong_on_sqlite(org, payments):
    plain = Payment.objects.filter(organisation=org).aggregate(s=Sum("amount"))["s"]
    assert plain != EXACT


def test_money_sum_is_exact(org, payments):
    row = Payment.objects.filter(organisation=org).aggregate(
        s=MoneySum("amount"), f=MoneySum("amount", filter=Q(date=DAY)), none=MoneySum("amount", filter=Q(date=None)))
    assert row == {"s": EXACT, "f": EXACT, "none": None}
    assert str(row["s"]) == "5043110755.33"


def test_money_sum_is_exact_grouped(org, payments):
    rows = Payment.objects.filter(organisation=org).values("organisation").annotate(s=MoneySum("amount"))
    assert [r["s"] for r in rows] == [EXACT]


def test_wrapped_in_another_expression_db_cents_makes_it_exact(org, payments):
    inner = Payment.objects.filter(organisation=OuterRef("pk")).order_by().values("organisation")
    row = Organisation.objects.filter(pk=org.pk).annotate(
        s=Subquery(inner.annotate(v=MoneySum("amount")).values("v")[:1]),
        c=Coalesce(Subquery(inner.annotate(v=MoneySum("amount")).values("v")[:1]), Decimal("0")),
    ).values("s", "c").get()
    assert db_cents(row["s"]) == db_cents(row["c"]) == EXACT


def test_db_cents_reads_nothing_as_zero_and_rounds_on_decimal_digits():
    assert db_cents(None) == Decimal("0.00")
    assert db_cents(5043110755.32999) == EXACT
    assert db_cents(Decimal("0.005")) == Decimal("0.01")


def test_the_pages_and_reports_sum_exactly(org, payments, invoices):
    assert list_collected_by_month(org, DAY)[-1][1] == EXACT
    assert todays_aged_balance(org, DAY)["total"] == EXACT
    assert todays_aged_balance(org, DAY)["d31_60"] == EXACT
    aged = get_aged_balance(org, DAY)
    assert aged.total == EXACT and aged.buckets["31-60"] == EXACT


def test_many_customers_each_sum_exactly(org, invoices):
    # The same amounts over two customers: each customer's sum and the total are exact.
    other = Customer.objects.create(organisation=org, external_id="C002", name="Martin SA")
    Invoice.objects.filter(organisation=org, number__gte="F00500").update(customer=other)
    aged = get_aged_balance(org, DAY)
    split = sum(amounts()[500:])
    assert [c.total for c in aged.customers] == [EXACT - split, split]
    assert aged.total == EXACT
