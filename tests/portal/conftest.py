"""Portal fixtures: a customer of ABC with two overdue invoices, the shipped scenarios, its link."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.accounts.conftest import victor  # noqa: F401 - the viewer
from tests.dunning.conftest import make_customer, scenarios  # noqa: F401 - shared fixtures

RUN = date(2026, 7, 6)  # six days after the invoices' due date: the first reminder is due
NOW = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def dupuis(scenarios, make_customer, make_invoice):  # noqa: F811 - the shared fixture
    """Dupuis SA (C100) owes F1 (1 200,00) and F2 (300,00), both overdue since 30 June 2026."""
    cust = make_customer("C100", name="Dupuis SA")
    invoices = [make_invoice(number="F1", cust=cust), make_invoice(number="F2", total="300.00", cust=cust)]
    return cust, invoices


@pytest.fixture
def link(dupuis):
    from relance.portal.tokens import portal_path

    cust, _ = dupuis
    return portal_path(cust.organisation_id, cust.pk)
