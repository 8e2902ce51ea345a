"""Call tasks from call reminders: the collector (or the pool), the script, the number, the history."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from relance.channels.base import DeliveryError
from relance.channels.context import build_context
from relance.channels.phone.channel import CallChannel

TODAY = date(2026, 7, 30)


@pytest.fixture
def phone(customer):
    from relance.ledger.models import Contact

    return Contact.objects.create(customer=customer, kind="phone", value="04 72 12 34 56", name="Marie Dupont")


def make_reminder(org, customer, invoices, run_date=TODAY, channel="call", state="planned"):
    from relance.dunning.models import Reminder, ReminderLine

    reminder = Reminder.objects.create(organisation=org, customer=customer, channel=channel, run_date=run_date,
                                       scenario_code="standard", step_code="call", template="call_script",
                                       tone="firm", state=state)
    for inv in invoices:
        ReminderLine.objects.create(reminder=reminder, invoice=inv, step_code=f"call-{reminder.pk}",
                                    balance=inv.open_balance)
    return reminder


def test_the_script_names_the_invoices_the_number_and_the_history(org, customer, phone, make_invoice):
    inv = make_invoice("1200.00")
    make_reminder(org, customer, [inv], run_date=date(2026, 7, 5), channel="email", state="sent")
    reminder = make_reminder(org, customer, [inv])
    out = CallChannel().render(reminder, build_context(reminder, today=TODAY))
    assert out.recipient == "+33472123456"
    assert out.body_text.startswith("Marie Dupont – +33472123456")
    assert inv.number in out.body_text and "1 200,00 €" in out.body_text
    assert "date de virement précise" in out.body_text  # the seeds' call script
    assert "Historique récent :" in out.body_text and "2026-07-05 e-mail" in out.body_text
    assert out.subject.startswith("Appeler Dupont SARL")


def test_a_customer_without_a_phone_cannot_be_called(org, customer, make_invoice):
    reminder = make_reminder(org, customer, [make_invoice()])
    assert CallChannel().recipient(customer) is None
    with pytest.raises(DeliveryError, match="aucun numéro") as info:
        CallChannel().render(reminder, build_context(reminder, today=TODAY))
    assert info.value.permanent


def test_the_pipeline_writes_the_call_task_for_the_collector(org, customer, phone, make_invoice, bob):
    from relance.channels.delivery import deliver_pending
    from relance.dunning.models import Task

    customer.collector = bob
    customer.save()
    inv = make_invoice("1200.00")
    reminder = make_reminder(org, customer, [inv])
    assert deliver_pending(org, now=datetime(2026, 7, 30, 8, 0, tzinfo=UTC)).sent == 1
    reminder.refresh_from_db()
    task = Task.objects.get(reminder=reminder)
    assert reminder.provider_id == f"task:{task.pk}"
    assert (task.kind, task.assignee, task.due_date, task.state) == ("call", bob, TODAY, "open")
    assert list(task.invoices.all()) == [inv]
    assert "+33472123456" in task.script and reminder.body_text == task.script


def test_it_fills_the_task_the_daily_run_created_and_keeps_its_assignee(org, customer, phone, make_invoice, alice):
    from relance.channels.phone.channel import CallTaskBackend
    from relance.dunning.models import Task

    inv = make_invoice()
    reminder = make_reminder(org, customer, [inv])
    existing = Task.objects.create(organisation=org, customer=customer, kind="call", title="Appeler", due_date=TODAY,
                                   assignee=alice, reminder=reminder)
    out = CallChannel().render(reminder, build_context(reminder, today=TODAY))
    CallTaskBackend().send(out)
    CallTaskBackend().send(out)  # a retry fills the same task
    assert Task.objects.filter(reminder=reminder).count() == 1
    existing.refresh_from_db()
    assert existing.assignee == alice
    assert existing.script == out.body_text
    assert list(existing.invoices.all()) == [inv]


def test_an_unassigned_customer_goes_to_the_pool(org, customer, phone, make_invoice):
    from relance.channels.phone.channel import CallTaskBackend

    reminder = make_reminder(org, customer, [make_invoice()])
    out = CallChannel().render(reminder, build_context(reminder, today=TODAY))
    receipt = CallTaskBackend().send(out)
    from relance.dunning.models import Task

    assert Task.objects.get(pk=int(receipt.provider_id.split(":")[1])).assignee is None
