"""refresh_next_dates(): the indexed next date the daily run reads, kept right after imports and changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from relance.dunning.actions import refresh_next_dates
from relance.ledger.balances import allocate
from tests.schedule_support import next_dates, schedule_of, set_schedule

pytestmark = pytest.mark.django_db


def test_it_gives_every_open_invoice_its_next_date(scenarios, customer, make_customer, make_invoice):
    make_invoice(number="F1")
    make_invoice(number="F2", due=date(2026, 6, 1), issue=date(2026, 5, 1))
    make_invoice(number="F3", total="5.00")  # under the minimum: never reminded
    assert refresh_next_dates(scenarios, today=date(2026, 6, 15)) == 2
    assert next_dates() == {"F1": date(2026, 6, 29), "F2": date(2026, 6, 8), "F3": None}


def test_only_the_given_invoices_are_touched(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    f2 = make_invoice(number="F2")
    refresh_next_dates(scenarios, [f2.pk], today=date(2026, 6, 15))
    assert next_dates() == {"F1": None, "F2": date(2026, 6, 29)}


def test_a_paid_invoice_loses_its_next_date(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    refresh_next_dates(scenarios, today=date(2026, 6, 15))
    allocate(inv, Decimal("1200.00"))
    refresh_next_dates(scenarios, [inv.pk], today=date(2026, 6, 15))
    assert next_dates() == {"F1": None}


def test_the_history_of_an_invoice_is_kept(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    set_schedule(inv, "first", date(2026, 7, 6))
    refresh_next_dates(scenarios, today=date(2026, 7, 6))
    assert schedule_of(inv) == (
        "first", date(2026, 7, 6), date(2026, 7, 13)
    )


def test_without_scenarios_it_does_nothing(org, customer, make_invoice):
    make_invoice(number="F1")
    assert refresh_next_dates(org, today=date(2026, 6, 15)) == 0
