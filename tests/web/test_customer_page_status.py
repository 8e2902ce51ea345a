"""The status an invoice shows on the customer and invoice pages (relance.dunning.labels.invoice_page_status):
hold_reason's verdict first, then the schedule and the due date. One crafted case per status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from relance.dunning.labels import PAGE_STATUS_LABELS, invoice_page_status, page_status, page_status_label
from relance.dunning.state import CustomerState, InvoiceState, Policy, PromiseState

TODAY = date(2026, 7, 20)
POLICY = Policy()
CUSTOMER = CustomerState(id=1)


def inv(**kw) -> InvoiceState:
    fields = {"id": 1, "customer_id": 1, "number": "F1", "issue_date": date(2026, 6, 1), "due_date": date(2026, 7, 1),
              "balance": Decimal("500.00")}
    return InvoiceState(**{**fields, **kw})


CASES = [
    ("to_warn", inv(due_date=date(2026, 8, 15)), CUSTOMER, False, "À prévenir"),
    ("to_remind", inv(last_step="first", last_date=date(2026, 7, 6)), CUSTOMER, False, "À relancer"),
    ("to_formalise", inv(last_step="formal-notice", last_date=date(2026, 7, 15)), CUSTOMER, True, "À formaliser"),
    ("disputed", inv(disputed=True), CUSTOMER, False, "En litige"),
    ("promise", inv(promise=PromiseState(1, date(2026, 7, 31))), CUSTOMER, False, "Promesse"),
    ("plan", inv(in_plan=True), CUSTOMER, False, "Échéancier"),
    ("paused", inv(), CustomerState(id=1, paused_until=date(2026, 8, 1)), False, "En pause"),
    ("settled", inv(balance=Decimal("0"), status="paid"), CUSTOMER, False, "Soldée"),
    ("insolvency", inv(), CustomerState(id=1, insolvency_date=date(2026, 7, 10)), False, "Procédure collective"),
]


@pytest.mark.parametrize(("key", "invoice", "customer", "formal", "words"), CASES, ids=[c[0] for c in CASES])
def test_each_status_on_a_crafted_case(key, invoice, customer, formal, words):
    assert invoice_page_status(invoice, customer, TODAY, POLICY, formal) == key
    with translation.override("fr"):
        assert page_status_label(key) == words


def test_the_nine_statuses_are_all_covered():
    assert {c[0] for c in CASES} == set(PAGE_STATUS_LABELS) and len(PAGE_STATUS_LABELS) == 9


def test_a_hold_wins_over_the_formal_stage():
    # A formal notice reached, then the customer disputes: the dispute is what the collector must see.
    assert invoice_page_status(inv(disputed=True, last_step="formal-notice"), CUSTOMER, TODAY, POLICY, True) == \
        "disputed"


def test_a_promise_past_its_grace_no_longer_holds():
    broken = inv(promise=PromiseState(1, date(2026, 7, 1)))
    assert invoice_page_status(broken, CUSTOMER, TODAY, POLICY) == "to_remind"


def test_an_invoice_below_the_minimum_shows_its_dates():
    small = inv(balance=Decimal("5.00"))
    assert invoice_page_status(small, CUSTOMER, TODAY, POLICY) == "to_remind"
    assert page_status("below_minimum", date(2026, 8, 1), TODAY, False) == "to_warn"


def test_due_today_is_not_yet_overdue():
    assert page_status("", TODAY, TODAY, False) == "to_warn"
