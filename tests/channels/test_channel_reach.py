"""The planner and the channels give one answer to "can this channel reach this customer"."""

from __future__ import annotations

import pytest

from relance.channels.letter.channel import LetterChannel, address_block
from relance.channels.sms.channel import SmsChannel, normalise_number
from relance.dunning.snapshot import load_customers
from relance.ledger.models import Contact, Customer
from tests.lib.test_phones import NUMBERS

pytestmark = pytest.mark.django_db

# (street, postcode, city, postal contact text or None)
ADDRESSES = [
    ("3 rue Lafayette", "75009", "Paris", None),
    ("3 rue Lafayette", "", "Paris", None),
    ("3 rue Lafayette", "75009", "", None),
    ("", "75009", "Paris", None),
    ("", "", "", "BP 42\n75009 Paris Cedex 09"),
    ("", "", "", "BP 42"),
    ("", "", "", "  \n "),
    ("3 rue Lafayette", "75009", "Paris", "BP 42"),  # an incomplete contact: the address is used
]


def test_the_planner_offers_an_sms_exactly_when_the_sms_channel_has_a_number(org):
    customers = []
    for i, (number, country, *_rest) in enumerate(NUMBERS):
        customer = Customer.objects.create(organisation=org, external_id=f"P{i}", name=f"Client {i}", country=country)
        Contact.objects.create(customer=customer, kind="phone", value=number)
        customers.append(customer)
    states = load_customers(org, [c.pk for c in customers])
    for customer, row in zip(customers, NUMBERS, strict=True):
        contact = SmsChannel().recipient(customer)
        assert ("sms" in states[customer.pk].channels) is (contact is not None), row
        if contact is not None:
            assert normalise_number(contact.value, customer.country) == row[2]


def test_the_planner_offers_a_letter_exactly_when_the_letter_channel_has_an_address(org):
    customers = []
    for i, (street, postcode, city, block) in enumerate(ADDRESSES):
        customer = Customer.objects.create(organisation=org, external_id=f"A{i}", name=f"Client {i}",
                                           address_line1=street, postcode=postcode, city=city)
        if block is not None:
            Contact.objects.create(customer=customer, kind="postal", value=block)
        customers.append(customer)
    states = load_customers(org, [c.pk for c in customers])
    for customer, row in zip(customers, ADDRESSES, strict=True):
        reachable = LetterChannel().recipient(customer) is not None
        assert ("letter" in states[customer.pk].channels) is reachable, row
        assert bool(address_block(customer)) is reachable, row
