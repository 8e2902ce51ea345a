"""The Django admin: the instance operators' back office, which cannot break the engine's invariants."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from relance.dunning import actions
from relance.dunning.models import (
    Dispute,
    DunningRun,
    Instalment,
    InvoiceSchedule,
    Note,
    PaymentPlan,
    Promise,
    RecoveryCost,
    Reminder,
    ReminderLine,
    Task,
)
from relance.ledger import balances
from relance.ledger.models import (
    Allocation,
    CreditNote,
    Customer,
    DayTotals,
    EInvoice,
    ImportBatch,
    Invoice,
    KnownPayer,
    MatchProposal,
    MatchSettings,
    Payment,
    TotalsDate,
)
from relance.portal.models import PortalRequest, PortalVisit
from tests.web.admin_support import action_url, change_url, delete_url

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "ledger", "dunning", "channels", "portal"}
OUR_MODELS = sorted(
    (m for m in apps.get_models() if m._meta.app_label in OUR_APPS and not m._meta.auto_created),
    key=lambda m: m.__name__,
)
# What the engine (imports, the daily run, the actions) writes: never added or edited by hand.
ENGINE_OWNED = [Allocation, CreditNote, Dispute, DunningRun, ImportBatch, Instalment, Invoice, InvoiceSchedule,
                Note, PaymentPlan, PortalRequest, PortalVisit, Promise, Reminder, ReminderLine, Task, DayTotals,
                TotalsDate, EInvoice, KnownPayer, MatchProposal, MatchSettings, RecoveryCost]
LATER = timezone.localdate() + timedelta(days=20)


def test_every_model_is_registered_in_the_admin():
    missing = [m.__name__ for m in OUR_MODELS if m not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda m: m.__name__)
def test_the_admin_list_pages_open(client, root, customer, make_invoice, model):
    make_invoice()
    client.force_login(root)
    meta = model._meta
    assert client.get(f"/admin/{meta.app_label}/{meta.model_name}/").status_code == 200
    add = client.get(f"/admin/{meta.app_label}/{meta.model_name}/add/").status_code
    assert add == (403 if model in ENGINE_OWNED else 200)


@pytest.mark.parametrize("person", ["alice", "bob"])
def test_organisation_members_are_not_let_into_the_admin_even_as_staff(client, request, person):
    user = request.getfixturevalue(person)
    user.is_staff = True
    user.save()
    client.force_login(user)
    response = client.get("/admin/ledger/customer/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_the_pages_of_engine_data_are_read_only(client, root, org, customer, make_invoice):
    invoice = make_invoice("500.00")
    reminder = Reminder.objects.create(organisation=org, customer=customer, channel="email", run_date=date(2026, 7, 1),
                                       scenario_code="standard", step_code="first", template="first_reminder",
                                       subject="Facture F00001", body_text="Bonjour", state="sent")
    client.force_login(root)
    for obj in (invoice, reminder):
        page = client.get(change_url(obj))
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
    # A crafted POST does not get through either: the reminder stays as it was sent.
    refused = client.post(change_url(reminder), {"subject": "autre chose", "state": "planned"})
    assert refused.status_code == 403
    reminder.refresh_from_db()
    assert (reminder.subject, reminder.state) == ("Facture F00001", "sent")
    assert client.post(delete_url(invoice), {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_allocating_from_the_invoice_page_lowers_its_balance(client, root, org, customer, make_invoice):
    invoice = make_invoice("1200.00")
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 1),
                                     amount=Decimal("500.00"))
    client.force_login(root)
    response = client.post(action_url(invoice, "allocate"), {"amount": "500.00", "payment": payment.pk})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.open_balance, invoice.status) == (Decimal("700.00"), "partly_paid")


def test_an_allocation_over_the_balance_is_refused_on_the_form(client, root, make_invoice):
    invoice = make_invoice("100.00")
    client.force_login(root)
    response = client.post(action_url(invoice, "allocate"), {"amount": "150.00"})
    assert response.status_code == 200
    assert "150.00 dépasse le solde ouvert 100.00" in response.content.decode()
    assert not Allocation.objects.exists()


def test_deleting_an_allocation_reopens_the_invoice(client, root, make_invoice):
    invoice = make_invoice("100.00")
    allocation = balances.allocate(invoice, Decimal("100.00"))
    client.force_login(root)
    assert client.post(delete_url(allocation), {"post": "yes"}).status_code == 302
    invoice.refresh_from_db()
    assert (invoice.open_balance, invoice.status) == (Decimal("100.00"), "open")


def test_a_dispute_opened_and_closed_in_the_admin_moves_the_invoice_status(client, root, make_invoice):
    invoice = make_invoice("100.00")
    client.force_login(root)
    assert client.post(action_url(invoice, "dispute-open"), {"reason": "prestation contestée"}).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "disputed"
    dispute = Dispute.objects.get(invoice=invoice)
    assert dispute.opened_by.username == "root"
    assert client.post(action_url(dispute, "close"), {"resolution": "avoir émis"}).status_code == 302
    invoice.refresh_from_db()
    dispute.refresh_from_db()
    assert (invoice.status, dispute.is_open, dispute.resolution) == ("open", False, "avoir émis")


def test_closing_a_dispute_that_is_not_open_shows_why(client, root, make_invoice):
    invoice = make_invoice("100.00")
    client.force_login(root)
    response = client.post(action_url(invoice, "dispute-close"), {"resolution": "?"})
    assert response.status_code == 200
    assert "aucun litige ouvert" in response.content.decode()


def test_a_promise_is_recorded_from_the_invoice_page(client, root, make_invoice):
    invoice = make_invoice("100.00")
    client.force_login(root)
    response = client.post(action_url(invoice, "promise"), {"promised_date": LATER.isoformat(), "amount": "60.00"})
    assert response.status_code == 302
    promise = Promise.objects.get(invoice=invoice)
    assert (promise.promised_date, promise.amount, promise.created_by.username) == (LATER, Decimal("60.00"), "root")
    history = LogEntry.objects.get(object_id=str(invoice.pk))
    assert (history.user.username, history.change_message) == ("root", "enregistrer une promesse de paiement")


def test_a_customer_is_paused_and_resumed_from_its_page(client, root, customer):
    client.force_login(root)
    response = client.post(action_url(customer, "pause"), {"until": LATER.isoformat(), "reason": "vacances"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.paused_until, customer.pause_reason) == (LATER, "vacances")
    assert client.post(action_url(customer, "resume")).status_code == 302
    customer.refresh_from_db()
    assert customer.paused_until is None


def test_a_pause_ending_in_the_past_is_refused_on_the_form(client, root, customer):
    client.force_login(root)
    response = client.post(action_url(customer, "pause"), {"until": "2020-01-01", "reason": "vacances"})
    assert response.status_code == 200
    assert "la date de fin de pause 2020-01-01 est passée" in response.content.decode()
    customer.refresh_from_db()
    assert customer.paused_until is None


def test_the_customer_form_does_not_write_the_pause_or_the_risk(client, root, customer):
    client.force_login(root)
    page = client.get(change_url(customer)).content.decode()
    assert 'name="paused_until"' not in page and 'name="risk_segment"' not in page
    assert 'name="name"' in page


def test_a_payment_plan_is_cancelled_from_its_page(client, root, customer, make_invoice):
    invoice = make_invoice("600.00")
    plan = actions.add_payment_plan(customer, [invoice], [(LATER, Decimal("600.00"))])
    client.force_login(root)
    assert client.post(action_url(plan, "cancel")).status_code == 302
    plan.refresh_from_db()
    assert plan.state == PaymentPlan.State.CANCELLED


def test_a_payment_added_in_the_admin_is_recorded_unallocated(client, root, org, customer):
    client.force_login(root)
    form = {"organisation": org.pk, "customer": customer.pk, "date": "2026-07-01", "amount": "250.00",
            "currency": "EUR", "method": "transfer", "reference": "VIR 123"}
    assert client.post("/admin/ledger/payment/add/", form).status_code == 302
    payment = Payment.objects.get()
    assert (payment.amount, payment.reference, payment.allocations.count()) == (Decimal("250.00"), "VIR 123", 0)


def test_a_payment_for_another_organisations_customer_is_refused_on_the_form(client, root, org, other_org):
    stranger = Customer.objects.create(organisation=other_org, external_id="X1", name="Ailleurs SA")
    client.force_login(root)
    form = {"organisation": org.pk, "customer": stranger.pk, "date": "2026-07-01", "amount": "250.00",
            "currency": "EUR", "method": "transfer"}
    response = client.post("/admin/ledger/payment/add/", form)
    assert response.status_code == 200
    assert "paiement et client d&#x27;organisations différentes" in response.content.decode()
    assert not Payment.objects.exists()


def test_the_amount_of_a_recorded_payment_cannot_be_edited(client, root, org, customer):
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 1),
                                     amount=Decimal("100.00"))
    client.force_login(root)
    page = client.get(change_url(payment)).content.decode()
    assert 'name="amount"' not in page and 'name="reference"' in page


def test_deleting_a_payment_reopens_the_invoices_it_paid(client, root, org, customer, make_invoice):
    invoice = make_invoice("100.00")
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 1),
                                     amount=Decimal("100.00"))
    balances.allocate(invoice, Decimal("100.00"), payment=payment)
    client.force_login(root)
    assert client.post(delete_url(payment), {"post": "yes"}).status_code == 302
    invoice.refresh_from_db()
    assert (invoice.open_balance, invoice.status) == (Decimal("100.00"), "open")
    assert not Payment.objects.exists()


@pytest.mark.parametrize(("action", "state"), [("approve", "planned"), ("skip", "cancelled")])
def test_a_reminder_awaiting_approval_is_approved_or_skipped(client, root, org, customer, action, state):
    reminder = Reminder.objects.create(organisation=org, customer=customer, channel="letter",
                                       run_date=date(2026, 7, 30), scenario_code="standard",
                                       step_code="formal-notice", template="formal_notice", state="awaiting_approval")
    client.force_login(root)
    assert client.post(action_url(reminder, action)).status_code == 302
    reminder.refresh_from_db()
    assert (reminder.state, reminder.approved_by.username) == (state, "root")


def test_approving_a_reminder_already_sent_shows_why(client, root, org, customer):
    reminder = Reminder.objects.create(organisation=org, customer=customer, channel="email",
                                       run_date=date(2026, 7, 30), scenario_code="standard", step_code="first",
                                       template="first_reminder", state="sent")
    client.force_login(root)
    response = client.post(action_url(reminder, "approve"))
    assert response.status_code == 200
    assert "elle n&#x27;attend pas d&#x27;approbation" in response.content.decode()


def test_an_action_of_another_model_is_not_found(client, root, customer):
    client.force_login(root)
    assert client.post(action_url(customer, "allocate")).status_code == 404
    assert not Task.objects.exists()


def test_every_action_page_opens_with_its_form(client, root, org, customer, make_invoice):
    invoice = make_invoice("100.00")
    dispute = actions.open_dispute(make_invoice("50.00"), "contestée")
    plan = actions.add_payment_plan(customer, [make_invoice("60.00")], [(LATER, Decimal("60.00"))])
    reminder = Reminder.objects.create(organisation=org, customer=customer, channel="letter",
                                       run_date=date(2026, 7, 30), scenario_code="standard",
                                       step_code="formal-notice", template="formal_notice", state="awaiting_approval")
    client.force_login(root)
    for obj in (invoice, customer, dispute, plan, reminder):
        model_admin = admin.site._registry[type(obj)]
        for key in model_admin.object_actions:
            page = client.get(action_url(obj, key))
            assert page.status_code == 200, (obj, key)
            assert "csrfmiddlewaretoken" in page.content.decode()
        # The object's page links its actions.
        assert "/do/" in client.get(change_url(obj)).content.decode()
