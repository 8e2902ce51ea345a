"""The context a reminder's templates see, built from the database."""

from __future__ import annotations

import base64
from datetime import UTC, date
from decimal import Decimal

from relance.channels.context import build_context, build_customer_context, sample_context
from relance.channels.models import OrganisationChannelSettings
from relance.ledger.balances import set_external_paid
from relance.ledger.references import creditor_reference, customer_creditor_reference
from tests.channels.email_support import make_reminder

TODAY = date(2026, 7, 10)


def test_it_has_every_documented_variable(org, customer, make_invoice):
    reminder = make_reminder(org, customer, [make_invoice()])
    context = build_context(reminder, today=TODAY)
    assert set(sample_context()) == set(context)
    assert set(sample_context()["org"]) == set(context["org"])
    assert set(sample_context()["customer"]) == set(context["customer"])
    assert set(sample_context()["invoices"][0]) == set(context["invoices"][0])


def test_it_lists_the_reminders_invoices_at_todays_balance_and_the_other_overdue_ones(org, customer, make_invoice):
    listed = make_invoice(total="1500.00", due=date(2026, 6, 30))
    partly = make_invoice(total="600.00", due=date(2026, 6, 20))
    older = make_invoice(total="300.00", due=date(2026, 5, 31))
    make_invoice(total="900.00", due=date(2026, 8, 31))  # not due yet: not "overdue"
    set_external_paid(partly, Decimal("100.00"))
    # The planner lists the other overdue invoices on the reminder: the context shows those.
    reminder = make_reminder(org, customer, [listed, partly], other_invoice_ids=[older.pk])

    context = build_context(reminder, today=TODAY)

    assert [(i["number"], i["balance"], i["days_late"]) for i in context["invoices"]] == [
        (partly.number, Decimal("500.00"), 20), (listed.number, Decimal("1500.00"), 10)]
    assert [i["number"] for i in context["other_overdue"]] == [older.number]
    assert context["total_due"] == Decimal("2000.00")
    assert context["grand_total"] == Decimal("2300.00")
    assert context["oldest_due_date"] == date(2026, 6, 20)
    assert context["reference"] == customer_creditor_reference(customer)  # several invoices: the customer's RF
    assert context["deadline"] == date(2026, 7, 18)
    assert context["step"] == {"code": "first", "tone": "friendly"}
    assert context["contact"] == {"name": "", "value": "compta@dupont.fr"}


def test_a_business_owes_the_indemnity_and_interest_a_consumer_no_indemnity(org, customer, make_invoice):
    reminder = make_reminder(org, customer, [make_invoice(total="1500.00", due=date(2026, 6, 30))])
    business = build_context(reminder, today=TODAY)
    assert business["indemnity"] == Decimal("40.00")
    assert business["late_interest"] > 0
    assert business["penalty_rate"] > 0
    customer.kind = "consumer"
    customer.save()
    reminder.refresh_from_db()
    assert build_context(reminder, today=TODAY)["indemnity"] == Decimal("0.00")


def test_the_epc_qr_code_is_a_png_for_the_amount_due(org, customer, make_invoice):
    reminder = make_reminder(org, customer, [make_invoice(total="1500.00")])
    uri = build_context(reminder, today=TODAY)["epc_qr_png_data_uri"]
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.partition(",")[2]).startswith(b"\x89PNG")


def test_there_is_no_qr_code_without_an_iban(org, customer, make_invoice):
    org.iban = ""
    org.save()
    reminder = make_reminder(org, customer, [make_invoice()])
    assert build_context(reminder, today=TODAY)["epc_qr_png_data_uri"] == ""


def test_the_portal_link_is_the_customers_own_page(org, customer, make_invoice, settings):
    from relance.portal.tokens import read_token

    settings.BASE_URL = "https://relance.example.com"
    context = build_customer_context(org, customer, [make_invoice()], "fr", today=TODAY)
    assert context["payment_link"] == ""  # the organisation has no payment link: none rather than a dead one
    assert context["portal_url"].startswith("https://relance.example.com/p/")
    key = read_token(context["portal_url"].split("/")[-2])
    assert (key.organisation_id, key.customer_id, key.reminder_id) == (org.pk, customer.pk, None)
    reminder = make_reminder(org, customer, [make_invoice()])
    assert read_token(build_context(reminder, today=TODAY)["portal_url"].split("/")[-2]).reminder_id == reminder.pk


def test_the_payment_link_is_the_organisations_when_it_has_one(org, customer, make_invoice):
    OrganisationChannelSettings.objects.create(
        organisation=org, payment_link_url="https://pay.example.com/?ref={reference}&amount={amount}")
    inv = make_invoice(total="99.90", number="F 1")
    link = build_customer_context(org, customer, [inv], "fr", today=TODAY)["payment_link"]
    assert link == f"https://pay.example.com/?ref={creditor_reference(inv)}&amount=99.90"


def test_the_collector_is_the_customers_else_the_organisation(org, customer, make_invoice, bob):
    inv = make_invoice()
    assert build_customer_context(org, customer, [inv], "fr", today=TODAY)["collector"]["name"] == "ABC Consulting"
    bob.first_name, bob.last_name = "Bob", "Martin"
    bob.save()
    customer.collector = bob
    customer.save()
    collector = build_customer_context(org, customer, [inv], "fr", today=TODAY)["collector"]
    assert collector == {"name": "Bob Martin", "phone": "", "email": "bob@abc-consulting.fr"}


def test_a_promise_and_a_payment_plan_reach_the_context(org, customer, make_invoice):
    from relance.dunning.models import Instalment, PaymentPlan, Promise

    inv = make_invoice(total="1000.00")
    Promise.objects.create(organisation=org, invoice=inv, promised_date=date(2026, 7, 15), amount=Decimal("1000"))
    plan = PaymentPlan.objects.create(organisation=org, customer=customer)
    plan.invoices.add(inv)
    Instalment.objects.create(plan=plan, position=1, due_date=date(2026, 7, 31), amount=Decimal("600"))
    Instalment.objects.create(plan=plan, position=2, due_date=date(2026, 8, 31), amount=Decimal("400"))
    context = build_customer_context(org, customer, [inv], "fr", today=TODAY)
    assert context["promise"]["date"] == date(2026, 7, 15)
    assert context["plan"]["total"] == Decimal("1000")
    assert [i["position"] for i in context["plan"]["instalments"]] == [1, 2]


def test_it_lists_overdue_and_not_yet_due_invoices_apart_each_with_its_total(org, customer, make_invoice):
    late = make_invoice(total="1000.00", due=date(2026, 6, 30))
    soon = make_invoice(total="250.00", due=date(2026, 12, 5))
    context = build_customer_context(org, customer, [late, soon], "fr", today=TODAY)
    assert [i["number"] for i in context["overdue_invoices"]] == [late.number]
    assert [i["number"] for i in context["upcoming_invoices"]] == [soon.number]
    assert (context["overdue_total"], context["upcoming_total"]) == (Decimal("1000.00"), Decimal("250.00"))
    assert context["indemnity"] == Decimal("40.00")  # one overdue invoice, not two


def test_previous_contacts_are_the_reminders_actually_sent_to_the_customer_before(org, customer, make_invoice):
    from datetime import datetime

    inv = make_invoice()
    make_reminder(org, customer, [inv], run_date=date(2026, 6, 1), state="sent", step="s1",
                  sent_at=datetime(2026, 6, 1, 8, tzinfo=UTC))
    make_reminder(org, customer, [inv], run_date=date(2026, 6, 8), state="failed", step="s2")
    make_reminder(org, customer, [inv], run_date=date(2026, 6, 9), state="sent", channel="call", step="s3",
                  sent_at=datetime(2026, 6, 9, 8, tzinfo=UTC))
    this = make_reminder(org, customer, [inv], run_date=TODAY, channel="letter", step="s4")
    assert build_context(this, today=TODAY)["previous_contacts"] == [date(2026, 6, 1)]


def test_a_first_message_has_no_previous_contacts(org, customer, make_invoice):
    reminder = make_reminder(org, customer, [make_invoice()], channel="letter", state="sending")
    assert build_context(reminder, today=TODAY)["previous_contacts"] == []


def test_the_salutation_uses_the_contact_person_and_suits_the_channel(org, customer, make_invoice):
    inv = make_invoice()
    customer.contact_name, customer.contact_civility = "Martin", "Mme"
    customer.save()
    letter = build_context(make_reminder(org, customer, [inv], channel="letter"), today=TODAY)
    email = build_context(make_reminder(org, customer, [inv], run_date=date(2026, 7, 11), step="s2"), today=TODAY)
    english = build_customer_context(org, customer, [inv], "en", today=TODAY, channel="letter")
    assert (letter["salutation"], letter["addressee"]) == ("Madame Martin,", "Madame")
    assert email["salutation"] == "Bonjour Madame Martin,"
    assert english["salutation"] == "Dear Ms Martin,"
    customer.contact_civility = ""
    customer.save()
    unknown = build_customer_context(org, customer, [inv], "fr", today=TODAY, channel="letter")
    assert (unknown["salutation"], unknown["addressee"]) == ("Madame, Monsieur,", "Madame, Monsieur")
    assert build_customer_context(org, customer, [inv], "fr", today=TODAY)["salutation"] == "Bonjour,"
    assert build_customer_context(org, customer, [inv], "en", today=TODAY, channel="letter")["salutation"] == (
        "Dear Sir or Madam,")


def test_a_formal_notice_asks_for_the_total_claimed_and_its_qr_code_carries_that_amount(org, customer, make_invoice):
    inv = make_invoice(total="22500.00", due=date(2026, 3, 31))
    context = build_customer_context(org, customer, [inv], "fr", today=TODAY, step={"code": "n", "tone": "formal"})
    claim = context["claim"]
    assert claim["principal"] == Decimal("22500.00")
    assert claim["total"] == claim["principal"] + claim["interest"] + claim["indemnity"] > Decimal("22540.00")
    assert context["amount_to_pay"] == claim["total"]
    amount = context["epc_payload"].split("\n")[7]
    assert amount == f"EUR{claim['total']:.2f}".rstrip("0").rstrip(".")


def test_the_interest_is_detailed_per_half_year_and_estimated_rates_are_named(org, customer, make_invoice):
    inv = make_invoice(total="10000.00", due=date(2026, 3, 31))
    context = build_customer_context(org, customer, [inv], "fr", today=TODAY)
    periods = context["interest_periods"]
    assert [(p["start"], p["end"], p["rate"], p["estimated"]) for p in periods] == [
        (date(2026, 4, 1), date(2026, 6, 30), Decimal("12.15"), False),
        (date(2026, 7, 1), date(2026, 7, 10), Decimal("12.15"), True),
    ]
    assert sum(p["amount"] for p in periods) == context["late_interest"]
    assert context["estimated_rates"] == ["2026-07-01/2026-07-10"]


def test_the_qr_code_carries_the_invoices_creditor_reference_and_the_amount_asked(org, customer, make_invoice):
    invoice = make_invoice(total="1500.00", due=date(2026, 6, 30))
    context = build_context(make_reminder(org, customer, [invoice]), today=TODAY)
    payload = context["epc_payload"].split("\n")
    assert context["reference"] == creditor_reference(invoice) and context["reference"].startswith("RF")
    assert payload[9] == context["reference"] and len(payload) == 10  # structured, no free text
    assert payload[7] == f"EUR{context['amount_to_pay']:.2f}".rstrip("0").rstrip(".")
