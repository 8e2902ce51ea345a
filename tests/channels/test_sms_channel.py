"""The SMS channel on real reminders: the number, the text within the cap, quiet hours in the pipeline."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from relance.channels.base import DeliveryError
from relance.channels.context import build_context
from relance.channels.sms.channel import InvalidPhoneNumber, SmsChannel, normalise_number

TODAY = date(2026, 7, 30)  # a Thursday
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def phones(customer):
    from relance.ledger.models import Contact

    Contact.objects.create(customer=customer, kind="phone", value="04 72 00 00 00", role="billing")  # landline
    Contact.objects.create(customer=customer, kind="phone", value="06 99 99 99 99", role="main", name="Paul")
    Contact.objects.create(customer=customer, kind="phone", value="07 81 23 45 67", role="billing", name="Marie")
    return customer


def make_reminder(org, customer, invoices):
    from relance.dunning.models import Reminder, ReminderLine

    reminder = Reminder.objects.create(organisation=org, customer=customer, channel="sms", run_date=TODAY,
                                       scenario_code="standard", step_code="sms", template="sms_reminder", tone="firm")
    for inv in invoices:
        ReminderLine.objects.create(reminder=reminder, invoice=inv, step_code="sms", balance=inv.open_balance)
    return reminder


def test_numbers_are_normalised_to_e164_in_the_customer_country():
    assert normalise_number("06 12 34 56 78") == "+33612345678"
    assert normalise_number("+33 (0)6 12 34 56 78") == "+33612345678"
    assert normalise_number("0470 12 34 56", "BE") == "+32470123456"
    with pytest.raises(InvalidPhoneNumber):
        normalise_number("06 12")
    with pytest.raises(InvalidPhoneNumber):
        normalise_number("not a number")


def test_it_texts_the_billing_mobile_never_a_landline(phones):
    assert SmsChannel().recipient(phones).value == "07 81 23 45 67"


def test_a_customer_without_a_mobile_gets_no_sms(customer):
    from relance.ledger.models import Contact

    Contact.objects.create(customer=customer, kind="phone", value="01 23 45 67 89")
    assert SmsChannel().recipient(customer) is None


def test_it_renders_the_sms_template_for_the_mobile_in_e164(org, phones, make_invoice):
    inv = make_invoice("1200.00")
    reminder = make_reminder(org, phones, [inv])
    out = SmsChannel().render(reminder, build_context(reminder, today=TODAY))
    assert out.recipient == "+33781234567"
    assert inv.number in out.body_text and "1 200,00 €" in out.body_text
    assert "\n" not in out.body_text
    assert out.headers["X-SMS-Encoding"] == "GSM-7"
    assert 1 <= int(out.headers["X-SMS-Segments"]) <= 3


def test_a_text_over_the_segment_cap_is_refused_for_good(org, phones, make_invoice, settings):
    from relance.channels.models import OrganisationChannelSettings

    settings.SMS_MAX_SEGMENTS = 1
    # The organisation's payment link makes the text longer than one segment.
    OrganisationChannelSettings.objects.create(organisation=org, payment_link_url="https://pay.example.com/?ref={reference}")
    reminder = make_reminder(org, phones, [make_invoice("1200.00")])
    with pytest.raises(DeliveryError, match="SMS trop long") as info:
        SmsChannel().render(reminder, build_context(reminder, today=TODAY))
    assert info.value.permanent


def test_not_before_defers_to_the_next_allowed_morning(org, phones, make_invoice):
    reminder = make_reminder(org, phones, [make_invoice()])
    sunday_noon = datetime(2026, 8, 2, 12, 0, tzinfo=PARIS)
    assert SmsChannel().not_before(reminder, sunday_noon) == datetime(2026, 8, 3, 8, 0, tzinfo=PARIS)


def test_the_pipeline_holds_an_sms_in_the_evening_and_sends_it_in_the_morning(org, phones, make_invoice, tmp_path):
    from relance.channels.delivery import deliver_pending

    org.sms_url = f"file://{tmp_path}"
    org.save()
    reminder = make_reminder(org, phones, [make_invoice("1200.00")])
    evening = datetime(2026, 7, 30, 21, 30, tzinfo=PARIS)
    assert deliver_pending(org, now=evening).deferred == 1
    reminder.refresh_from_db()
    assert reminder.state == "planned"
    assert reminder.not_before == datetime(2026, 7, 31, 8, 0, tzinfo=PARIS)
    assert list(tmp_path.iterdir()) == []

    stats = deliver_pending(org, now=datetime(2026, 7, 31, 8, 5, tzinfo=PARIS))
    assert stats.sent == 1
    reminder.refresh_from_db()
    assert reminder.state == "sent"
    record = json.loads((tmp_path / reminder.provider_id).read_text())
    assert record["to"] == "+33781234567"
    assert record["text"] == reminder.body_text


def test_a_customer_with_only_an_invalid_number_fails_permanently(org, customer, make_invoice):
    reminder = make_reminder(org, customer, [make_invoice()])
    reminder.recipient = "06 12"
    reminder.save()
    with pytest.raises(DeliveryError, match="invalide") as info:
        SmsChannel().render(reminder, build_context(reminder, today=TODAY))
    assert info.value.permanent


def test_not_before_reads_the_hour_where_the_mobile_rings(org, customer, make_invoice):
    from relance.ledger.models import Contact

    Contact.objects.create(customer=customer, kind="phone", value="+590 690 12 34 56", role="billing")
    reminder = make_reminder(org, customer, [make_invoice()])
    paris_one_pm = datetime(2026, 7, 30, 13, 0, tzinfo=PARIS)  # 07:00 in Guadeloupe
    assert SmsChannel().not_before(reminder, paris_one_pm) == datetime(2026, 7, 30, 8, 0,
                                                                       tzinfo=ZoneInfo("America/Guadeloupe"))


def test_not_before_keeps_good_friday_for_a_customer_in_alsace(org, phones, make_invoice):
    reminder = make_reminder(org, phones, [make_invoice()])
    good_friday = datetime(2026, 4, 3, 10, 0, tzinfo=PARIS)
    assert SmsChannel().not_before(reminder, good_friday) == good_friday
    phones.postcode, phones.city = "67000", "Strasbourg"
    phones.save()
    assert SmsChannel().not_before(reminder, good_friday) == datetime(2026, 4, 4, 8, 0, tzinfo=PARIS)
