"""relance run, end to end on the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from relance.dunning.models import DunningRun, InvoiceSchedule, Reminder, ReminderLine, Task
from relance.dunning.run import plan_today
from relance.ledger.balances import allocate
from tests.schedule_support import next_date_of, schedule_of, set_schedule

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("run_dunning", "--org", "abc", "--no-send", *args, stdout=out)
    return out.getvalue()


def run_json(day: str, *args) -> list[dict]:
    return json.loads(run("--date", day, "--json", *args))


def test_a_dry_run_prints_the_messages_as_json_and_writes_nothing(scenarios, customer, make_customer, make_invoice):
    other = make_customer("C002", phone="06 12 34 56 78")
    make_invoice(number="F1")
    make_invoice(number="F2", total="300.00")
    make_invoice(number="F3", cust=other, due=date(2026, 6, 1), issue=date(2026, 5, 1))
    messages = run_json("2026-06-29", "--dry-run")
    assert messages == [
        {"customer": "C001", "channel": "email", "step": "pre-due", "scenario": "standard",
         "invoices": ["F1", "F2"], "total_due": "1500.00"},
        {"customer": "C002", "channel": "email", "step": "first", "scenario": "standard",
         "invoices": ["F3"], "total_due": "1200.00"},
    ]
    assert Reminder.objects.count() == 0 and Task.objects.count() == 0 and DunningRun.objects.count() == 0
    assert not InvoiceSchedule.objects.exists()


def test_a_run_writes_reminders_lines_and_next_dates(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    assert run_json("2026-06-29") == [
        {"customer": "C001", "channel": "email", "step": "pre-due", "scenario": "standard",
         "invoices": ["F1"], "total_due": "1200.00"}
    ]
    reminder = Reminder.objects.get()
    assert (reminder.state, reminder.template, reminder.run_date) == ("planned", "friendly_reminder", date(2026, 6, 29))
    assert reminder.total_due == Decimal("1200.00")
    line = ReminderLine.objects.get()
    assert (line.invoice_id, line.step_code, line.balance) == (inv.pk, "pre-due", Decimal("1200.00"))
    assert schedule_of(inv) == (
        "pre-due", date(2026, 6, 29), date(2026, 7, 6)
    )


def test_a_second_run_on_the_same_date_does_nothing_new(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    run("--date", "2026-06-29")
    assert run_json("2026-06-29") == []
    assert Reminder.objects.count() == 1 and ReminderLine.objects.count() == 1
    assert DunningRun.objects.get().passes == 2


def test_a_later_run_the_same_day_adds_only_what_is_new(scenarios, customer, make_customer, make_invoice):
    make_invoice(number="F1")
    run("--date", "2026-06-29")
    late = make_customer("C002")
    make_invoice(number="F2", cust=late)  # imported after the morning run
    make_invoice(number="F3")  # same customer and channel as this morning: tomorrow
    assert [m["customer"] for m in run_json("2026-06-29")] == ["C002"]
    assert [m["invoices"] for m in run_json("2026-06-30")] == [["F3"]]


def test_the_run_follows_an_invoice_through_its_scenario(scenarios, customer, make_invoice, bob):
    customer.collector = bob
    customer.save()
    make_invoice(number="F1")
    steps = []
    for day in ["2026-06-29", "2026-07-06", "2026-07-13", "2026-07-17", "2026-07-20", "2026-07-30", "2026-08-14"]:
        steps += [(day, m["channel"], m["step"]) for m in run_json(day)]
    # No phone: the call becomes an e-mail and the SMS too; no address: the formal notice goes by e-mail.
    assert steps == [
        ("2026-06-29", "email", "pre-due"),
        ("2026-07-06", "email", "first"),
        ("2026-07-13", "email", "call"),
        ("2026-07-17", "email", "firm"),
        ("2026-07-20", "email", "sms"),
        ("2026-07-30", "email", "formal-notice"),
        # The escalation step: its documents made by delivery, with the collector's task.
        ("2026-08-14", "escalation", "escalation"),
    ]
    assert Reminder.objects.get(step_code="formal-notice").state == "awaiting_approval"
    tasks = sorted((t.kind, t.channel) for t in Task.objects.all())
    # One fix-contact task per missing channel, not one per run.
    assert tasks == [("fix_contact", "call"), ("fix_contact", "letter"), ("fix_contact", "sms")]
    # The escalation's task comes with its documents, once delivered (tests/dossier/test_escalation_outputs.py).
    escalation = Reminder.objects.get(channel="escalation")
    assert (escalation.template, escalation.state) == ("order_for_payment", "planned")


def test_a_call_step_creates_a_call_task_for_the_collector_linked_to_its_reminder(
    scenarios, make_customer, make_invoice, bob
):
    cust = make_customer("C002", phone="01 45 67 89 10", collector=bob)
    inv = make_invoice(number="F1", cust=cust)
    set_schedule(inv, "first", date(2026, 7, 6), date(2026, 7, 13))
    assert [(m["channel"], m["step"]) for m in run_json("2026-07-13")] == [("call", "call")]
    task = Task.objects.get()
    assert (task.kind, task.assignee, task.reminder.channel, task.step_code) == ("call", bob, "call", "call")
    assert list(task.invoices.values_list("number", flat=True)) == ["F1"]
    assert task.title.startswith("Appeler Client C002")


@pytest.mark.parametrize("language, title", [
    ("fr", "Appeler Client C002 : 1 facture(s), 1\u202f200,00\xa0€"),
    ("en", "Call Client C002: 1 invoice(s), €1,200.00"),
])
def test_task_titles_are_in_the_organisations_language_with_amounts_by_babel(
    scenarios, make_customer, make_invoice, language, title
):
    scenarios.language = language
    scenarios.save()
    inv = make_invoice(number="F1", cust=make_customer("C002", phone="01 45 67 89 10"))
    set_schedule(inv, "first", date(2026, 7, 6), date(2026, 7, 13))
    run("--date", "2026-07-13")
    assert Task.objects.get().title == title


def test_a_paid_invoice_is_not_reminded_and_leaves_the_index(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    run("--date", "2026-06-29")
    allocate(inv, Decimal("1200.00"))
    assert run_json("2026-07-06") == []
    assert next_date_of(inv) is None


def test_invoices_just_imported_without_a_next_date_are_planned(scenarios, customer, make_invoice):
    make_invoice(number="F1", due=date(2026, 6, 1), issue=date(2026, 5, 1))
    assert [m["step"] for m in run_json("2026-07-01")] == ["first"]


def test_small_amounts_below_the_minimum_are_never_reminded(scenarios, customer, make_invoice):
    make_invoice(number="F1", total="9.50", due=date(2026, 6, 1), issue=date(2026, 5, 1))
    assert run_json("2026-07-01") == []


def test_the_run_recomputes_risk_scores(scenarios, customer, make_invoice):
    make_invoice(number="F1", due=date(2026, 3, 1), issue=date(2026, 2, 1))
    run("--date", "2026-07-01")
    customer.refresh_from_db()
    # No payment history: from the "unknown" 35, plus the full weight of four months overdue.
    assert customer.risk_score == 50 and customer.risk_segment == "medium"
    assert customer.risk_reasons == [
        "1\u202f200,00 € échus impayés, le plus ancien depuis 122 jours", "pas encore d'historique de paiement"
    ]


def test_the_message_lists_the_customers_other_overdue_invoices(scenarios, customer, make_invoice):
    make_invoice(number="F1")  # its pre-due step today
    old = make_invoice(number="F0", due=date(2026, 6, 20), issue=date(2026, 5, 20))
    set_schedule(old, "first", date(2026, 6, 25), date(2026, 7, 2))
    make_invoice(number="F9", total="5.00", due=date(2026, 6, 1), issue=date(2026, 5, 1))  # under the minimum
    assert [m["invoices"] for m in run_json("2026-06-29")] == [["F1"]]
    assert Reminder.objects.get().other_invoice_ids == [old.pk]


def test_an_unknown_organisation_is_a_one_line_error(scenarios):
    with pytest.raises(CommandError, match="--org 'nope'"):
        call_command("run_dunning", "--org", "nope")


def test_a_bad_date_is_a_one_line_error(scenarios):
    with pytest.raises(CommandError, match="--date '31/02/2026'"):
        call_command("run_dunning", "--org", "abc", "--date", "31/02/2026")


def test_an_organisation_without_scenarios_is_told_to_run_init(org):
    with pytest.raises(CommandError, match="relance init"):
        call_command("run_dunning", "--org", "abc")


def test_the_text_output_sums_up_the_run(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    assert "planned 1 message(s) (email 1)" in run("--date", "2026-06-29")


def test_deleting_an_invoice_through_the_orm_removes_its_lines_tasks_links_and_schedule(
    scenarios, make_customer, make_invoice
):
    # Lines and task links have no database constraint on the invoice (see ReminderLine.invoice):
    # Django's on_delete must still clean up after a deleted invoice.
    cust = make_customer("C002", phone="01 45 67 89 10")
    inv = make_invoice(number="F1", cust=cust)
    set_schedule(inv, "first", date(2026, 7, 6), date(2026, 7, 13))
    run_json("2026-07-13")
    assert ReminderLine.objects.filter(invoice=inv).exists() and Task.invoices.through.objects.exists()
    inv.delete()
    assert not ReminderLine.objects.exists() and not Task.invoices.through.objects.exists()
    assert not InvoiceSchedule.objects.exists()


def test_the_run_itself_plans_and_sends_nothing(scenarios, customer, make_invoice, tmp_path):
    scenarios.email_url = f"file://{tmp_path}"
    scenarios.save()
    make_invoice(number="F1")
    assert plan_today(scenarios, date(2026, 6, 29)).reminders == 1
    assert Reminder.objects.get().state == "planned"
    assert not list(tmp_path.glob("*.eml"))


def test_the_command_hands_the_reminders_to_delivery_after_the_run(scenarios, customer, make_invoice, tmp_path,
                                                                   settings):
    settings.CELERY_BROKER_URL = ""  # no pool: sent in process, right after the run
    scenarios.email_url = f"file://{tmp_path}"
    scenarios.save()
    make_invoice(number="F1")
    call_command("run_dunning", "--org", "abc", "--date", "2026-06-29", stdout=StringIO())
    assert Reminder.objects.get().state == "sent"
    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_the_run_warns_when_formal_notices_rest_on_a_rate_missing_from_the_tables(scenarios, customer, make_invoice):
    invoice = make_invoice(number="F1")
    set_schedule(invoice, "sms", date(2026, 7, 20), next_date=date(2026, 7, 30))
    out = run("--date", "2026-07-30")
    # The tables are checked up to the first half of 2026: July's ECB rate is carried forward.
    assert "warning: the rate tables (relance/law/data) have no rate for 2026-07-30/2026-07-30" in out
    assert "1 formal notice(s)" in out


def test_the_run_says_nothing_of_rates_without_a_formal_notice(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    assert "warning" not in run("--date", "2026-07-06")
