"""Shared fixtures: alice owns ABC Consulting, bob collects for it, charlie has another company."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

# The data dir of a test run is a temporary one: see relance/lib/pytest_plugin.py.


@pytest.fixture(scope="session", autouse=True)
def _wall_clock():
    """RELANCE_TEST_NOW=2026-12-04T23:30:00+00:00 runs the whole suite at that moment (the clock
    ticks on from it): how the tests are checked against a run near midnight UTC, when the UTC day
    and the organisation's day differ."""
    import os

    moment = os.environ.get("RELANCE_TEST_NOW")
    if not moment:
        yield
        return
    import time_machine

    with time_machine.travel(moment, tick=True):
        yield


@pytest.fixture
def org(db):
    from relance.accounts.models import Organisation

    return Organisation.objects.create(
        slug="abc", legal_name="ABC Consulting", siren="732829320", iban="FR1420041010050500013M02606",
        bic="PSSTFRPPPAR", sender_email="compta@abc-consulting.fr", city="Lyon", postcode="69002",
        address_line1="12 rue de la République",
    )


@pytest.fixture
def other_org(db):
    from relance.accounts.models import Organisation

    return Organisation.objects.create(slug="xyz", legal_name="XYZ Industrie")


@pytest.fixture
def alice(org, django_user_model):
    from relance.accounts.models import Membership

    user = django_user_model.objects.create_user("alice", "alice@abc-consulting.fr", "alice-pw")
    Membership.objects.create(user=user, organisation=org, role="owner")
    return user


@pytest.fixture
def bob(org, django_user_model):
    from relance.accounts.models import Membership

    user = django_user_model.objects.create_user("bob", "bob@abc-consulting.fr", "bob-pw")
    Membership.objects.create(user=user, organisation=org, role="collector")
    return user


@pytest.fixture
def charlie(other_org, django_user_model):
    from relance.accounts.models import Membership

    user = django_user_model.objects.create_user("charlie", "charlie@xyz.fr", "charlie-pw")
    Membership.objects.create(user=user, organisation=other_org, role="owner")
    return user


@pytest.fixture
def customer(org):
    from relance.ledger.models import Contact, Customer

    c = Customer.objects.create(organisation=org, external_id="C001", name="Dupont SARL", city="Paris")
    Contact.objects.create(customer=c, kind="email", value="compta@dupont.fr", role="billing")
    return c


@pytest.fixture
def make_invoice(org, customer):
    from relance.ledger.models import Invoice

    counter = iter(range(1, 10_000))

    def make(total="1200.00", due=date(2026, 6, 30), issue=date(2026, 5, 31), cust=None, number=None):
        total = Decimal(total)
        return Invoice.objects.create(
            organisation=org, customer=cust or customer, number=number or f"F{next(counter):05d}",
            issue_date=issue, due_date=due, total=total, open_balance=total,
            amount_excl_tax=(total / Decimal("1.2")).quantize(Decimal("0.01")),
            tax=total - (total / Decimal("1.2")).quantize(Decimal("0.01")),
        )

    return make
