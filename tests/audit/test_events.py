"""Each audited event, driven through the real action, leaves one entry with the right data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from relance.audit.log import entries_for
from relance.audit.verify import verify_org
from relance.dunning import actions
from relance.dunning.models import Reminder, TaskKind
from relance.ledger import balances
from relance.ledger.models import Contact, Payment
from relance.portal import actions as portal
from tests.audit.conftest import kinds, last

TODAY = "2026-07-10 10:00 +02:00"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def invoice(make_invoice):
    return make_invoice(total="1200.00", due=date(2026, 6, 30))


def test_a_promise_is_recorded_with_its_date_amount_and_author(org, alice, invoice):
    actions.record_promise(invoice, date(2026, 7, 20), Decimal("500.00"), user=alice)
    e = last(org, "promise.recorded")
    assert (e.actor, e.actor_id, e.object_type, e.object_label) == ("alice", alice.pk, "promise", invoice.number)
    assert e.customer_id == invoice.customer_id
    assert e.data | {} == {**e.data, "invoice": invoice.number, "promised_date": "2026-07-20", "amount": "500.00",
                           "state": "open"}


def test_a_dispute_opened_and_closed(org, bob, invoice):
    actions.open_dispute(invoice, "livraison incomplète", user=bob)
    actions.open_dispute(invoice, "again", user=bob)  # idempotent: no second entry
    actions.close_dispute(invoice, "avoir émis", user=bob)
    assert kinds(org) == ["dispute.opened", "dispute.closed"]
    assert last(org, "dispute.opened").data["reason"] == "livraison incomplète"
    closed = last(org, "dispute.closed")
    assert (closed.data["resolution"], closed.data["is_open"], closed.data["invoice"]) == ("avoir émis", False,
                                                                                            invoice.number)


def test_a_payment_recorded_then_allocated(org, alice, customer, invoice):
    payment = Payment(organisation=org, customer=customer, date=date(2026, 7, 9), amount=Decimal("700.00"),
                      reference="VIR 42")
    actions.receive_payment(payment, [(invoice, Decimal("700.00"))], user=alice)
    assert kinds(org) == ["payment.recorded", "payment.allocated"]
    recorded, allocated = last(org, "payment.recorded"), last(org, "payment.allocated")
    assert (recorded.data["amount"], recorded.data["reference"], recorded.object_label) == ("700.00", "VIR 42", "C001")
    assert (allocated.data["amount"], allocated.data["source"], allocated.data["invoice"]) == (
        "700.00", "payment", invoice.number)
    assert allocated.data["payment_id"] == payment.pk
    balances.delete_payment(payment, user=alice)
    assert last(org, "payment.deleted").data["invoices"] == [invoice.number]


def test_a_pause_and_a_resume(org, alice, customer):
    actions.pause_customer(customer, date(2026, 8, 1), "négociation", user=alice)
    actions.resume_customer(customer, user=alice)
    paused, resumed = last(org, "customer.paused"), last(org, "customer.resumed")
    assert (paused.object_label, paused.data["paused_until"], paused.data["pause_reason"]) == (
        "C001", "2026-08-01", "négociation")
    assert resumed.data["paused_until"] is None


def test_insolvency_opened_and_closed(org, alice, customer, invoice):
    task = actions.open_insolvency(customer, date(2026, 7, 1), "redressement", user=alice)
    actions.close_insolvency(customer, user=alice)
    opened = last(org, "insolvency.opened")
    assert (opened.data["insolvency_date"], opened.data["insolvency_kind"], opened.data["task"]) == (
        "2026-07-01", "redressement", task.pk)
    assert opened.data["invoices"] == [invoice.number]
    assert last(org, "insolvency.closed").data["in_insolvency"] is False


def test_notes_contacts_and_a_scenario_assigned(org, alice, customer, scenarios):
    from relance.dunning.models import Scenario

    actions.add_note(customer, "Rappeler lundi", user=alice)
    contact = actions.add_contact(customer, "phone", "+33 6 12 34 56 78", user=alice)
    actions.update_contact(contact, "+33 6 12 34 56 79", "billing", user=alice)
    actions.remove_contact(contact, user=alice)
    actions.invalidate_contact(Contact.objects.get(customer=customer, kind="email"), "boîte pleine")
    strategic = Scenario.objects.get(organisation=org, code="strategic")
    actions.assign_customers(org, [customer.pk], scenario=strategic, user=alice)
    assert kinds(org) == ["note.added", "contact.added", "contact.changed", "contact.removed", "contact.invalidated",
                          "customer.assigned"]
    assert last(org, "note.added").data["text"] == "Rappeler lundi"
    assert last(org, "contact.changed").data["value"] == "+33 6 12 34 56 79"
    assert last(org, "contact.invalidated").data["invalid_reason"] == "boîte pleine"
    assert last(org, "contact.invalidated").actor == "system"
    assert last(org, "customer.assigned").object_label == "C001"


def test_approval_skip_and_edit(org, alice, customer, invoice):
    from tests.channels.email_support import make_reminder

    one = make_reminder(org, customer, [invoice], state="awaiting_approval", step="notice")
    two = make_reminder(org, customer, [invoice], state="awaiting_approval", channel="letter", step="notice-letter")
    actions.edit_reminder(one, "Mise en demeure", "Payez.", user=alice)
    actions.approve_reminder(one, alice)
    actions.skip_reminder(two, alice)
    assert kinds(org) == ["reminder.edited", "reminder.approved", "reminder.skipped"]
    assert last(org, "reminder.edited").data["body_text"] == "Payez."
    assert (last(org, "reminder.approved").data["reminder"], last(org, "reminder.approved").data["state"]) == (
        one.pk, "planned")
    assert last(org, "reminder.skipped").data["state"] == "cancelled"


def test_a_call_outcome(org, bob, customer, invoice):
    task = actions.create_task(customer, TaskKind.CALL, "Appeler", invoices=[invoice])
    actions.record_call_outcome(task, "promise", {"note": "paiera le 20"}, user=bob,
                                promises=[(invoice, date(2026, 7, 20), None)])
    assert kinds(org) == ["promise.recorded", "call.outcome"]
    call = last(org, "call.outcome")
    assert (call.data["outcome"], call.data["details"], call.actor) == ("promise", {"note": "paiera le 20"}, "bob")
    actions.close_task(actions.create_task(customer, TaskKind.REVIEW, "Vérifier"), bob, note="vu")
    assert last(org, "task.closed").data["state"] == "done"


def test_the_portal_visit_answer_and_its_handling(org, alice, customer, invoice):
    portal.record_visit(customer, page="home", ip_address="192.0.2.1")
    request = portal.submit_answer(customer, "dispute", [invoice], reason="déjà payé en juin")
    portal.handle_portal_request(request, "paiement retrouvé", alice)
    visit, answer, handled = last(org, "portal.visit"), last(org, "portal.request"), last(org, "portal.handled")
    assert (visit.actor, visit.data["page"], visit.customer_id) == ("portal", "home", customer.pk)
    assert (answer.actor, answer.data["kind"], answer.data["invoices"]) == ("portal", "dispute", [invoice.number])
    assert (handled.actor, handled.data["resolution"]) == ("alice", "paiement retrouvé")


def test_an_import_batch(org, tmp_path):
    from relance.ledger.importers import import_file

    path = tmp_path / "clients.csv"
    path.write_text("Code client;Raison sociale;E-mail\nC100;Durand SA;compta@durand.fr\nC101;Martin;m@martin.fr\n",
                    encoding="utf-8")
    result = import_file(org, "customers", path)
    assert result.ok
    e = last(org, "import.batch")
    assert (e.data["filename"], e.data["created"], e.data["kind"], len(e.data["sha256"])) == (
        "clients.csv", 2, "customers", 64)
    bad = tmp_path / "bad.csv"
    bad.write_text("Code client;Raison sociale;E-mail\nC102;Petit;pas-une-adresse\n", encoding="utf-8")
    assert not import_file(org, "customers", bad).ok
    assert kinds(org) == ["import.batch"]  # a refused import is rolled back, its entry with it


@pytest.fixture
def outbox(org, tmp_path):
    org.email_url = f"file://{tmp_path}"
    org.save()
    return tmp_path


def test_the_run_plans_and_the_sender_sends_each_recorded(org, scenarios, customer, invoice, outbox):
    from relance.channels.delivery import deliver_pending

    result = actions.plan_today(org, date(2026, 7, 10))
    reminder = Reminder.objects.get(customer=customer)
    planned = last(org, "reminder.planned")
    assert (planned.data["reminder"], planned.data["channel"], planned.data["invoices"]) == (
        reminder.pk, reminder.channel, [invoice.number])
    assert planned.data["step"] == reminder.step_code and planned.object_label == "C001"
    assert result.counts()
    deliver_pending(org, now=datetime(2026, 7, 10, 8, 0, tzinfo=UTC))
    reminder.refresh_from_db()
    sent = last(org, "reminder.sent")
    assert reminder.state == "sent"
    assert (sent.data["recipients"], sent.data["message_id"], sent.data["invoices"]) == (
        ["compta@dupont.fr"], reminder.message_id, [invoice.number])
    assert sent.data["message_id"].startswith("<")
    assert verify_org(org).ok


def test_a_failed_send_is_recorded_with_its_error(org, customer, invoice):
    from relance.channels.delivery import deliver_pending
    from tests.channels.email_support import make_reminder

    org.email_url = "smtp://127.0.0.1:9?timeout=1"  # nothing listens: refused, a transient failure
    org.save()
    make_reminder(org, customer, [invoice])
    deliver_pending(org, now=datetime(2026, 7, 10, 8, 0, tzinfo=UTC))
    failed = last(org, "reminder.failed")
    assert failed is not None and failed.data["error"] and failed.data["state"] == "failed"


def test_kept_and_broken_promises_are_recorded_by_the_run(org, scenarios, customer, make_invoice, alice):
    kept_invoice, broken_invoice = make_invoice(total="300.00"), make_invoice(total="400.00")
    with time_machine.travel("2026-07-01 10:00 +02:00", tick=False):
        actions.record_promise(kept_invoice, date(2026, 7, 3), user=alice)
        actions.record_promise(broken_invoice, date(2026, 7, 3), user=alice)
    balances.allocate(kept_invoice, Decimal("300.00"), user=alice)
    actions.plan_today(org, date(2026, 7, 10))
    assert last(org, "promise.kept").data["invoice"] == kept_invoice.number
    assert last(org, "promise.broken").data["invoice"] == broken_invoice.number
    assert verify_org(org).ok


def test_entries_for_a_customer_and_an_invoice(org, alice, customer, make_invoice):
    first, second = make_invoice(), make_invoice()
    actions.open_dispute(first, "litige", user=alice)
    actions.record_promise(second, date(2026, 7, 20), user=alice)
    actions.pause_customer(customer, date(2026, 8, 1), "vacances", user=alice)
    assert [e.kind for e in entries_for(org, customer=customer)] == ["dispute.opened", "promise.recorded",
                                                                    "customer.paused"]
    assert [e.kind for e in entries_for(org, invoice=second)] == ["promise.recorded"]
