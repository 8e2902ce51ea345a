"""The buttons of the customer page: each posts to an action URL, writes through an action, says so;
a viewer gets 403, another organisation 404."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied

from relance.dunning import actions
from relance.dunning.defaults import install_default_scenarios
from relance.dunning.models import Dispute, Note, PaymentPlan, Promise, Reminder, ReminderLine, Task
from relance.ledger.models import Allocation, Contact, Customer, Invoice, Payment
from tests.schedule_support import schedule_of, set_schedule

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2026, 7, 20)  # a Monday


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2026, 7, 20, 10, 0, tzinfo=PARIS), tick=False):
        yield


@pytest.fixture
def scenarios(org):
    install_default_scenarios(org)
    return org


def post(client, customer, action, data=None, slug="abc"):
    return client.post(f"/o/{slug}/clients/{customer.pk}/{action}/", data or {})


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def two(make_invoice):
    return (make_invoice(number="F1", total="300.00", due=date(2026, 6, 1), issue=date(2026, 5, 1)),
            make_invoice(number="F2", total="1200.00", due=date(2026, 7, 1)))


def test_record_a_payment_allocates_it_to_the_chosen_invoices_oldest_first(client, bob, customer, two):
    client.force_login(bob)
    response = post(client, customer, "payment", {
        "payment-date": "2026-07-18", "payment-amount": "500.00", "payment-method": "transfer",
        "payment-reference": "VIR 42", "payment-invoices": [two[0].pk, two[1].pk]})
    assert response.status_code == 302 and response.url == f"/o/abc/clients/{customer.pk}/"
    payment = Payment.objects.get()
    assert (payment.amount, payment.reference, payment.customer_id) == (Decimal("500.00"), "VIR 42", customer.pk)
    allocated = dict(Allocation.objects.values_list("invoice__number", "amount"))
    assert allocated == {"F1": Decimal("300.00"), "F2": Decimal("200.00")}
    assert Invoice.objects.get(number="F1").status == "paid"
    assert Invoice.objects.get(number="F2").open_balance == Decimal("1000.00")
    assert said(response) == ["Paiement de 500,00\xa0€ enregistré, affecté à 2 facture(s)."]


def test_a_payment_refused_writes_nothing(client, bob, customer, two):
    client.force_login(bob)
    response = post(client, customer, "payment", {"payment-date": "2026-07-18", "payment-amount": "-5",
                                                  "payment-method": "transfer"})
    assert response.status_code == 302 and not Payment.objects.exists()
    assert said(response) and "Montant" in said(response)[0]


def test_log_a_call_closes_a_call_task_with_its_promise(client, bob, customer, two):
    client.force_login(bob)
    post(client, customer, "call", {"call-outcome": "reached_promise", "call-date": "2026-07-31",
                                    "call-note": "Paiement fin du mois"})
    task = Task.objects.get(kind="call")
    assert (task.state, task.outcome, task.outcome_data["note"]) == ("done", "reached_promise", "Paiement fin du mois")
    assert sorted(Promise.objects.values_list("invoice__number", "promised_date")) == [
        ("F1", date(2026, 7, 31)), ("F2", date(2026, 7, 31))]


def test_log_a_call_without_answer_plans_the_next_call(client, bob, customer, two):
    open_task = actions.create_task(customer, "call", "Appeler", invoices=[two[0]], user=bob)
    client.force_login(bob)
    response = post(client, customer, "call", {"call-outcome": "no_answer"})
    open_task.refresh_from_db()
    assert open_task.state == "done" and open_task.outcome == "no_answer"
    assert Task.objects.filter(kind="call", state="open").count() == 1
    assert said(response) == ["Appel enregistré : Pas de réponse."]


def test_record_a_promise(client, bob, customer, two):
    client.force_login(bob)
    post(client, customer, "promise", {"promise-invoices": [two[1].pk], "promise-promised_date": "2026-08-05",
                                       "promise-amount": "600.00"})
    promise = Promise.objects.get()
    assert (promise.invoice_id, promise.promised_date, promise.amount) == (two[1].pk, date(2026, 8, 5),
                                                                          Decimal("600.00"))


def test_open_and_close_a_dispute(client, bob, customer, two):
    client.force_login(bob)
    post(client, customer, "dispute", {"dispute-invoice": two[0].pk, "dispute-reason": "Prestation non conforme"})
    dispute = Dispute.objects.get()
    assert dispute.is_open and Invoice.objects.get(pk=two[0].pk).status == "disputed"
    response = post(client, customer, "close-dispute", {"close-invoice": two[0].pk, "close-resolution": "Avoir"})
    dispute.refresh_from_db()
    assert not dispute.is_open and dispute.resolution == "Avoir"
    assert Invoice.objects.get(pk=two[0].pk).status == "open"
    assert said(response)[-1] == "Litige sur F1 clos."


def test_set_up_a_payment_plan(client, bob, customer, two):
    client.force_login(bob)
    post(client, customer, "plan", {"plan-invoices": [two[0].pk, two[1].pk], "plan-count": "4",
                                    "plan-first_date": "2026-07-31"})
    plan = PaymentPlan.objects.get()
    instalments = list(plan.instalments.values_list("due_date", "amount"))
    assert instalments == [(date(2026, 7, 31), Decimal("375.00")), (date(2026, 8, 31), Decimal("375.00")),
                           (date(2026, 9, 30), Decimal("375.00")), (date(2026, 10, 31), Decimal("375.00"))]
    assert set(plan.invoices.values_list("number", flat=True)) == {"F1", "F2"}


def test_pause_and_resume(client, bob, customer):
    client.force_login(bob)
    post(client, customer, "pause", {"pause-until": "2026-08-15", "pause-reason": "Congés"})
    customer.refresh_from_db()
    assert (customer.paused_until, customer.pause_reason) == (date(2026, 8, 15), "Congés")
    post(client, customer, "resume")
    customer.refresh_from_db()
    assert customer.paused_until is None


def test_add_a_note_about_an_invoice(client, bob, customer, two):
    client.force_login(bob)
    response = post(client, customer, "note", {"note-text": "Client injoignable", "note-invoice": two[1].pk})
    note = Note.objects.get()
    assert (note.text, note.invoice_id, note.author_id) == ("Client injoignable", two[1].pk, bob.pk)
    assert said(response) == ["Note ajoutée."]


def test_a_form_posted_from_the_invoice_page_goes_back_there(client, bob, customer, two):
    client.force_login(bob)
    back = f"/o/abc/factures/{two[1].pk}/"
    response = post(client, customer, "note", {"note-text": "Vu", "next": back})
    assert response.url == back
    elsewhere = post(client, customer, "note", {"note-text": "Vu", "next": "https://evil.example/"})
    assert elsewhere.url == f"/o/abc/clients/{customer.pk}/"


def test_contacts_are_added_changed_and_removed_through_contact_clean(client, bob, customer):
    client.force_login(bob)
    post(client, customer, "add-contact", {"contact-kind": "email", "contact-value": " relances@dupont.fr ",
                                           "contact-role": "accounting", "contact-name": "Mme Roux"})
    contact = Contact.objects.get(value="relances@dupont.fr")
    assert (contact.role, contact.name) == ("accounting", "Mme Roux")
    refused = post(client, customer, "add-contact", {"contact-kind": "email", "contact-role": "billing",
                                                     "contact-value": "a@dupont.fr, pirate@evil.example"})
    assert not Contact.objects.filter(value__contains="pirate").exists()
    assert "une seule adresse e-mail attendue" in said(refused)[-1]
    post(client, customer, "update-contact", {"edit-contact": contact.pk, "edit-value": "compta2@dupont.fr",
                                              "edit-role": "billing", "edit-valid": "on"})
    contact.refresh_from_db()
    assert (contact.value, contact.role, contact.valid) == ("compta2@dupont.fr", "billing", True)
    bad = post(client, customer, "update-contact", {"edit-contact": contact.pk, "edit-value": "x <a@b.fr>",
                                                    "edit-role": "billing"})
    contact.refresh_from_db()
    assert contact.value == "compta2@dupont.fr" and "une seule adresse" in said(bad)[-1]
    post(client, customer, "remove-contact", {"remove-contact": contact.pk})
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_another_customers_contact_is_not_found(client, bob, org, customer):
    stranger = Customer.objects.create(organisation=org, external_id="C999", name="Autre")
    theirs = Contact.objects.create(customer=stranger, kind="email", value="x@autre.fr")
    client.force_login(bob)
    assert post(client, customer, "remove-contact", {"remove-contact": theirs.pk}).status_code == 404
    assert Contact.objects.filter(pk=theirs.pk).exists()


def test_send_a_statement_of_account(client, bob, customer, two, django_capture_on_commit_callbacks):
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, customer, "statement")
    reminder = Reminder.objects.get()
    assert (reminder.template, reminder.channel, reminder.run_date) == ("statement", "email", TODAY)
    assert sorted(reminder.lines.values_list("invoice__number", flat=True)) == ["F1", "F2"]
    assert reminder.state == "sent" and "relevé" in reminder.body_text
    assert said(response) == ["Relevé de compte remis à l'envoi."]
    again = post(client, customer, "statement")
    assert Reminder.objects.count() == 1 and "déjà un e-mail aujourd'hui" in said(again)[-1]


def test_send_the_next_step_now_sends_it_once(client, bob, scenarios, customer, make_invoice,
                                              django_capture_on_commit_callbacks):
    inv = make_invoice(number="F1", due=date(2026, 7, 10))
    # The call was made on the 16th: the firm e-mail is due on the 24th, not today.
    set_schedule(inv, "call", date(2026, 7, 16), date(2026, 7, 24))
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, customer, "send-next")
    with django_capture_on_commit_callbacks(execute=True):
        second = post(client, customer, "send-next")
    reminder = Reminder.objects.get()
    assert (reminder.step_code, reminder.channel, reminder.run_date, reminder.state) == ("firm", "email", TODAY,
                                                                                           "sent")
    assert list(ReminderLine.objects.values_list("invoice_id", "step_code")) == [(inv.pk, "firm")]
    last_step, last_date, next_date = schedule_of(inv)
    assert (last_step, last_date) == ("firm", TODAY) and next_date > TODAY
    assert said(first)[-1:] == ["Étape suivante planifiée maintenant : 1 message(s) remis à l'envoi."]
    assert "Rien à envoyer" in said(second)[-1]


def test_the_daily_run_of_the_same_day_does_not_send_it_again(bob, scenarios, customer, make_invoice):
    inv = make_invoice(number="F1", due=date(2026, 7, 10))
    set_schedule(inv, "call", date(2026, 7, 16), date(2026, 7, 24))
    actions.send_next_step_now(customer, user=bob)
    result = actions.plan_today(customer.organisation, TODAY)
    assert result.reminders == 0 and Reminder.objects.count() == 1


def test_send_the_next_step_now_plans_a_reminder_before_the_due_date(bob, scenarios, customer, make_invoice):
    inv = make_invoice(number="F1", due=date(2026, 7, 31), issue=date(2026, 7, 1))
    reminders = actions.send_next_step_now(customer, user=bob)
    assert [(r.step_code, r.run_date) for r in reminders] == [("pre-due", TODAY)]
    assert schedule_of(inv)[:2] == ("pre-due", TODAY)


def test_nothing_is_sent_now_to_a_paused_customer(bob, scenarios, customer, make_invoice):
    make_invoice(number="F1", due=date(2026, 7, 10))
    actions.pause_customer(customer, date(2026, 8, 1), "Congés", user=bob)
    with pytest.raises(actions.DunningError):
        actions.send_next_step_now(customer, user=bob)
    assert not Reminder.objects.exists()


def test_the_new_actions_check_the_role(victor, customer):
    with pytest.raises(PermissionDenied):
        actions.add_note(customer, "x", user=victor)
    with pytest.raises(PermissionDenied):
        actions.add_contact(customer, "email", "a@b.fr", user=victor)
    with pytest.raises(PermissionDenied):
        actions.send_statement_now(customer, user=victor)
    with pytest.raises(PermissionDenied):
        actions.send_next_step_now(customer, user=victor)


ACTIONS = ("payment", "call", "promise", "dispute", "close-dispute", "plan", "pause", "resume", "send-next",
           "statement", "note", "add-contact", "update-contact", "remove-contact")


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_gets_403_and_writes_nothing(client, victor, customer, two, action):
    client.force_login(victor)
    assert post(client, customer, action, {"note-text": "x", "pause-until": "2026-08-01", "pause-reason": "x"}
                ).status_code == 403
    assert not Note.objects.exists() and Customer.objects.get(pk=customer.pk).paused_until is None


@pytest.mark.parametrize("action", ACTIONS)
def test_another_organisation_gets_404(client, charlie, customer, action):
    client.force_login(charlie)
    assert post(client, customer, action).status_code == 404
    assert post(client, customer, action, slug="xyz").status_code == 404


def test_an_unknown_action_is_404_and_get_is_refused(client, bob, customer):
    client.force_login(bob)
    assert post(client, customer, "explode").status_code == 404
    assert client.get(f"/o/abc/clients/{customer.pk}/note/").status_code == 405


def test_an_instalment_is_sent_now_once(bob, scenarios, customer, make_invoice):
    inv = make_invoice(number="F1", total="600.00", due=date(2026, 7, 1))
    actions.add_payment_plan(customer, [inv], [(date(2026, 8, 10), Decimal("300.00")),
                                              (date(2026, 9, 10), Decimal("300.00"))], user=bob)
    reminders = actions.send_next_step_now(customer, user=bob)
    assert [(r.step_code, r.run_date) for r in reminders] == [("instalment-pre-due", TODAY)]
    line = ReminderLine.objects.get()
    assert line.instalment is not None and line.instalment.position == 1
    with pytest.raises(actions.DunningError):
        actions.send_next_step_now(customer, user=bob)
    assert Reminder.objects.count() == 1
