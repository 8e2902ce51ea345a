"""Call outcomes feed the engine: promise, dispute, payment plan, already paid, no answer, wrong number."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from relance.channels.phone.outcomes import CallOutcomeError, record_call_outcome

NOW = "2026-07-30 10:00 +02:00"  # Thursday
TODAY = date(2026, 7, 30)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def phone(customer):
    from relance.ledger.models import Contact

    return Contact.objects.create(customer=customer, kind="phone", value="04 72 12 34 56", name="Marie Dupont")


@pytest.fixture
def call(org, customer, phone, make_invoice, bob):
    from relance.dunning.models import Reminder, Task

    reminder = Reminder.objects.create(organisation=org, customer=customer, channel="call", run_date=TODAY,
                                       scenario_code="standard", step_code="call", template="call_script",
                                       recipient="+33472123456", state="sent")
    task = Task.objects.create(organisation=org, customer=customer, kind="call", title="Appeler Dupont",
                               due_date=TODAY, assignee=bob, reminder=reminder, script="Script", step_code="call")
    task.invoices.set([make_invoice("1000.00", due=date(2026, 6, 15)), make_invoice("500.00", due=date(2026, 6, 30))])
    return task


def test_a_promise_is_recorded_on_each_invoice_with_the_amount_spread_oldest_first(call, bob):
    result = record_call_outcome(call, "reached_promise", {"date": "2026-08-05", "amount": "1 200,00"}, user=bob)
    assert [(p.invoice.number, p.promised_date, p.amount) for p in result.promises] == [
        ("F00001", date(2026, 8, 5), Decimal("1000.00")), ("F00002", date(2026, 8, 5), Decimal("200.00")),
    ]
    call.refresh_from_db()
    assert (call.state, call.outcome, call.outcome_data["date"]) == ("done", "reached_promise", "2026-08-05")


def test_a_reached_call_prepares_the_recap_email_for_a_person_to_send(call):
    result = record_call_outcome(call, "reached_promise", {"date": "2026-08-05"})
    recap = result.recap
    assert recap.recipient == "compta@dupont.fr"  # the first valid e-mail contact
    assert "Récapitulatif de notre échange" in recap.subject
    assert "05/08/2026" in recap.body_text and "1 500,00 €" in recap.body_text
    reminder = recap.reminder
    assert (reminder.channel, reminder.template, reminder.state) == ("email", "call_recap", "awaiting_approval")
    assert reminder.lines.count() == 2


def test_the_recap_is_still_given_as_text_when_an_email_already_went_today(call, org, customer):
    from relance.dunning.models import Reminder

    Reminder.objects.create(organisation=org, customer=customer, channel="email", run_date=TODAY,
                            scenario_code="standard", step_code="first", template="first_reminder")
    recap = record_call_outcome(call, "plan_requested", {"note": "3 mensualités"}).recap
    assert recap.reminder is None
    assert "Récapitulatif" in recap.subject


def test_a_dispute_stops_the_reminders_on_the_invoices_named(call):
    from relance.ledger.models import Invoice

    result = record_call_outcome(call, "reached_dispute", {"reason": "Livraison incomplète", "invoices": ["F00002"]})
    assert [d.invoice.number for d in result.disputes] == ["F00002"]
    assert Invoice.objects.get(number="F00002").status == "disputed"
    assert Invoice.objects.get(number="F00001").status == "open"


def test_a_plan_request_becomes_a_task_for_the_collector(call, bob):
    [task] = record_call_outcome(call, "plan_requested", {"note": "3 mensualités"}).tasks
    assert (task.kind, task.assignee, task.due_date) == ("review", bob, TODAY)
    assert "échéancier" in task.title and task.script == "3 mensualités"


def test_already_paid_asks_someone_to_check_the_payment(call):
    [task] = record_call_outcome(call, "already_paid",
                                 {"date": "2026-07-28", "amount": "1500.00", "reference": "VIR 123"}).tasks
    assert task.kind == "check_payment"
    assert "1500.00 € le 2026-07-28 (réf. VIR 123)" in task.title
    assert task.invoices.count() == 2


def test_no_answer_schedules_another_call_the_next_business_day(call, bob):
    [retry] = record_call_outcome(call, "no_answer").tasks
    assert (retry.kind, retry.due_date, retry.assignee, retry.script) == ("call", date(2026, 7, 31), bob, "Script")
    assert retry.outcome_data == {"attempt": 2}
    # Friday's no answer: Monday (and not the 15 August weekend rules, a plain weekend here).
    with time_machine.travel("2026-07-31 10:00 +02:00", tick=False):
        [again] = record_call_outcome(retry, "no_answer").tasks
    assert again.due_date == date(2026, 8, 3)
    assert again.outcome_data == {"attempt": 3}
    assert record_call_outcome(call.__class__.objects.get(pk=again.pk), "no_answer").recap is None


def test_a_wrong_number_invalidates_the_contact_and_asks_for_a_fix(call, phone):
    result = record_call_outcome(call, "wrong_number")
    phone.refresh_from_db()
    assert not phone.valid and "mauvais numéro" in phone.invalid_reason
    [task] = result.tasks
    assert task.kind == "fix_contact" and "04 72 12 34 56" in task.title
    assert result.recap is None


def test_bad_outcomes_and_fields_are_refused_by_name(call):
    with pytest.raises(CallOutcomeError, match="outcome"):
        record_call_outcome(call, "maybe")
    with pytest.raises(CallOutcomeError, match="date: date required"):
        record_call_outcome(call, "reached_promise", {})
    with pytest.raises(CallOutcomeError, match="date: not a date"):
        record_call_outcome(call, "reached_promise", {"date": "31/07"})
    with pytest.raises(CallOutcomeError, match="date: a promise to pay is for today or later"):
        record_call_outcome(call, "reached_promise", {"date": "2026-07-01"})
    with pytest.raises(CallOutcomeError, match="amount"):
        record_call_outcome(call, "already_paid", {"date": "2026-07-28"})
    with pytest.raises(CallOutcomeError, match="reason"):
        record_call_outcome(call, "reached_dispute", {"reason": " "})
    with pytest.raises(CallOutcomeError, match="invoices: not open invoices"):
        record_call_outcome(call, "reached_dispute", {"reason": "x", "invoices": ["F99999"]})
    call.refresh_from_db()
    assert call.state == "open"  # nothing recorded by a refused outcome


def test_an_outcome_is_recorded_once(call):
    record_call_outcome(call, "no_answer")
    with pytest.raises(CallOutcomeError, match="already"):
        record_call_outcome(call, "no_answer")
