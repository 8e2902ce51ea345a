"""A contact's name outside GSM-7 must not turn the SMS into UCS-2 parts: spelt in GSM-7, or left out."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from relance.channels.delivery import deliver_pending
from relance.channels.models import OrganisationChannelSettings
from relance.channels.sms.segments import count, gsm7_name
from relance.dunning.models import Reminder, Task
from relance.ledger.models import Contact
from tests.channels.sms_support import sms_server  # noqa: F401 - the `server` fixture
from tests.channels.test_sms_channel import make_reminder

THURSDAY_MORNING = datetime(2026, 7, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.mark.parametrize(
    "name, spelt",
    [
        ("Łukasz", "Lukasz"),
        ("Zoë Lefèvre", "Zoe Lefèvre"),  # è is in GSM-7, ë is not
        ("François", "Francois"),
        ("Søren Ørsted", "Søren Ørsted"),  # Ø and ø are GSM-7 letters
        ("Đorđe", "Dorde"),
        ("Jürgen Müller", "Jürgen Müller"),
        ("  Anne   Marie ", "Anne Marie"),
        ("王先生", ""),
        ("Дмитрий", ""),
        ("Ali 😀", ""),
        ("", ""),
    ],
)
def test_a_name_is_spelt_in_gsm7_or_dropped(name, spelt):
    assert gsm7_name(name) == spelt


@pytest.fixture
def sms_org(org, server):
    org.sms_url = f"http://{server.base}/send?token=t&sender=ABC"
    org.save()
    return org


def texted(server) -> str:
    [request] = server.requests
    return request["body"]["text"]


@pytest.mark.parametrize("name, greeting", [("Łukasz", "Bonjour Lukasz, "), ("王先生", "Bonjour, ")])
def test_the_sms_to_a_foreign_name_stays_in_gsm7_and_is_sent(sms_org, customer, make_invoice, server, name,
                                                             greeting):
    Contact.objects.create(customer=customer, kind="phone", value="06 12 34 56 78", role="billing", name=name)
    reminder = make_reminder(sms_org, customer, [make_invoice("1200.00")])
    assert deliver_pending(sms_org, now=THURSDAY_MORNING).sent == 1
    text = texted(server)
    assert text.startswith(greeting)
    info = count(text)
    assert info.encoding == "GSM-7" and info.segments <= 3
    reminder.refresh_from_db()
    assert reminder.state == "sent" and reminder.body_text == text


def test_a_text_that_cannot_fit_the_parts_goes_by_the_next_channel_without_reaching_the_sms_provider(
        sms_org, customer, make_invoice, server, settings, tmp_path):
    settings.SMS_MAX_SEGMENTS = 1
    sms_org.email_url = f"file://{tmp_path}"
    sms_org.save()
    OrganisationChannelSettings.objects.create(organisation=sms_org,
                                               payment_link_url="https://pay.example.com/?ref={reference}")
    Contact.objects.create(customer=customer, kind="phone", value="06 12 34 56 78", role="billing", name="王先生")
    reminder = make_reminder(sms_org, customer, [make_invoice("1200.00"), make_invoice("80.00")])
    stats = deliver_pending(sms_org, now=THURSDAY_MORNING)
    assert (stats.failed, stats.retrying, stats.sent) == (1, 0, 1)  # the SMS failed, its e-mail went
    reminder.refresh_from_db()
    assert reminder.state == "failed" and reminder.next_attempt_at is None
    assert reminder.error.startswith("SMS trop long : 2 SMS (GSM-7) pour un maximum de 1")
    assert "relayée par email" in reminder.error
    assert server.requests == []
    email = Reminder.objects.get(customer=customer, channel="email")
    assert email.state == "sent" and email.fallback_from == "sms" and email.lines.count() == 2
    assert Task.objects.filter(customer=customer, kind="fix_contact", channel="sms").exists()
