"""A contact e-mail holds exactly one address: hostile values never reach an extra or wrong recipient.

Sent for real to an SMTP server (aiosmtpd): whatever the stored contact value, the server receives
nothing for an address the value smuggles in, the reminder fails as unreachable and a person is
asked to fix the contact (the SMTP backend is the last guard behind the importer's check)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from relance.channels.delivery import deliver_pending
from relance.dunning.models import Reminder, Task
from relance.ledger.models import Contact
from tests.channels.email_support import make_reminder, smtpd  # noqa: F401

NOW = datetime(2026, 7, 10, 8, 0, tzinfo=UTC)

HOSTILE = [
    "compta@dupont.fr, evil@attacker.example",
    "compta@dupont.fr;evil@attacker.example",
    "compta@dupont.fr evil@attacker.example",
    "evil@attacker.example (compta@dupont.fr)",
    "compta@dupont.fr (evil@attacker.example)",
    '"compta@dupont.fr" <evil@attacker.example>',
    "Dupont <evil@attacker.example>",
    "<evil@attacker.example>",
    "compta@dupont.fr\x00evil@attacker.example",
    "compta@dupont.fr\r\nBcc: evil@attacker.example",
    "compta@dupont.fr\nevil@attacker.example",
    "compta@dupont.fr\tevil@attacker.example",
    "evil@attacker.example,",
    "compta@@dupont.fr",
    "compta@dupont.fr>",
    "",
    "@attacker.example",
    "compta@dupont.fr\x7f",
    "compta@[127.0.0.1]evil",
]


@pytest.fixture
def smtp_org(org, smtpd):  # noqa: F811
    org.email_url = smtpd.url
    org.save()
    return org


@pytest.mark.parametrize("name", ["", "Marie Dupont"])
@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_contact_value_sends_nothing_to_anyone(smtp_org, smtpd, customer, make_invoice, value,  # noqa: F811
                                                         name):
    if "\x00" in value and connection.vendor == "postgresql":
        pytest.skip("PostgreSQL itself refuses a NUL in text: such a contact cannot be stored there")
    Contact.objects.filter(customer=customer).update(value=value, name=name)
    reminder = make_reminder(smtp_org, customer, [make_invoice()])

    deliver_pending(now=NOW)

    assert smtpd.messages == []
    reminder = Reminder.objects.get(pk=reminder.pk)
    assert reminder.state == "failed" and reminder.next_attempt_at is None
    assert "invalide" in reminder.error
    assert Task.objects.filter(customer=customer, kind="fix_contact", channel="email").exists()


@pytest.mark.parametrize("name", ["", "Marie Dupont", "Hélène d'Artois, comptabilité", '"Bob" <x>'])
def test_a_plain_address_is_sent_to_that_address_only(smtp_org, smtpd, customer, make_invoice, name):  # noqa: F811
    Contact.objects.filter(customer=customer).update(name=name)
    make_reminder(smtp_org, customer, [make_invoice()])
    assert deliver_pending(now=NOW).sent == 1
    assert [m.rcpt_tos for m in smtpd.messages] == [["compta@dupont.fr"]]
