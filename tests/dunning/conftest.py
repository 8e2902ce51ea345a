"""Dunning fixtures: the organisation with its shipped scenarios, and a few customers."""

from __future__ import annotations

import pytest


@pytest.fixture
def scenarios(org):
    from relance.dunning.defaults import install_default_scenarios

    install_default_scenarios(org)
    return org


@pytest.fixture
def make_customer(org):
    from relance.ledger.models import Contact, Customer

    def make(external_id, name=None, email=True, phone="", address=False, **kw):
        c = Customer.objects.create(
            organisation=org, external_id=external_id, name=name or f"Client {external_id}",
            address_line1="1 rue du Port" if address else "", postcode="13002" if address else "",
            city="Marseille" if address else "", **kw,
        )
        if email:
            Contact.objects.create(customer=c, kind="email", value=f"compta@{external_id.lower()}.fr")
        if phone:
            Contact.objects.create(customer=c, kind="phone", value=phone)
        return c

    return make
