"""revalidate_reminder(): right before sending, the balances are read again."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from relance.dunning.actions import open_dispute, plan_today, revalidate_reminder
from relance.dunning.models import Reminder
from relance.ledger.balances import allocate

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(scenarios, customer, make_invoice):
    invs = [make_invoice(number="F1"), make_invoice(number="F2", total="300.00")]
    plan_today(scenarios, date(2026, 6, 29))
    return Reminder.objects.get(), invs


def test_an_invoice_paid_since_the_run_is_dropped(planned):
    reminder, (f1, f2) = planned
    allocate(f1, Decimal("1200.00"))
    assert revalidate_reminder(reminder) is True
    assert list(reminder.lines.filter(dropped=False).values_list("invoice__number", flat=True)) == ["F2"]
    reminder.refresh_from_db()
    assert reminder.total_due == Decimal("300.00")


def test_a_partial_payment_updates_the_line(planned):
    reminder, (f1, f2) = planned
    allocate(f1, Decimal("200.00"))
    revalidate_reminder(reminder)
    assert reminder.lines.get(invoice=f1).balance == Decimal("1000.00")
    assert reminder.total_due == Decimal("1300.00")


def test_a_reminder_left_with_nothing_to_claim_is_cancelled(planned):
    reminder, (f1, f2) = planned
    allocate(f1, Decimal("1200.00"))
    open_dispute(f2, "Non commandé")
    assert revalidate_reminder(reminder) is False
    reminder.refresh_from_db()
    assert reminder.state == "cancelled" and "plus rien à réclamer" in reminder.error
