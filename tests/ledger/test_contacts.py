"""relance.ledger.contacts.clean_email: one contact field, exactly one address."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from relance.ledger.contacts import clean_email


@pytest.mark.parametrize("value, clean", [
    ("compta@dupont.fr", "compta@dupont.fr"), ("  Compta.Client+relance@dupont.fr ", "Compta.Client+relance@dupont.fr"),
    ("o'brien@example.ie", "o'brien@example.ie"), ("facturation@société.fr", "facturation@société.fr"),
])
def test_it_keeps_one_valid_address_stripped(value, clean):
    assert clean_email(value) == clean


@pytest.mark.parametrize("value", [
    "a@x.fr, pirate@evil.example", "a@x.fr;pirate@evil.example", "a@x.fr pirate@evil.example",
    "a(pirate@evil.example)@x.fr", "a@x.fr (pirate@evil.example)", "Dupont <pirate@evil.example>",
    "<pirate@evil.example>", '"a,pirate@evil.example"@x.fr', '"a"@x.fr', "a@[10.0.0.1]", "a@x.fr\x00pirate",
    "a@x.fr\nBcc: pirate@evil.example", "a\\@x.fr",
])
def test_it_refuses_anything_that_could_name_a_second_recipient(value):
    with pytest.raises(ValidationError) as caught:
        clean_email(value)
    assert caught.value.code == "forbidden"


@pytest.mark.parametrize("value, code", [
    ("", "empty"), ("   ", "empty"), ("dupont.fr", "invalid"), ("a@", "invalid"), ("@x.fr", "invalid"),
    ("a@x", "invalid"), ("a@@x.fr", "invalid"), ("a" * 250 + "@x.fr", "too_long"),
])
def test_it_refuses_what_is_not_an_address(value, code):
    with pytest.raises(ValidationError) as caught:
        clean_email(value)
    assert caught.value.code == code


@pytest.mark.django_db
def test_a_contact_written_through_a_form_holds_one_address(customer):
    from relance.ledger.models import Contact

    contact = Contact(customer=customer, kind="email", value="compta@dupont.fr, evil@attacker.example")
    with pytest.raises(ValidationError) as refused:
        contact.full_clean()
    assert "value" in refused.value.message_dict
    fine = Contact(customer=customer, kind="email", value="  compta2@dupont.fr ")
    fine.full_clean()
    assert fine.value == "compta2@dupont.fr"
