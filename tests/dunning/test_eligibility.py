"""One eligibility rule: the planner applies rules.hold_reason, and delivery applies it again right
before the send. Whatever changed since planning (payment, dispute, promise, pause, insolvency
proceedings), nothing is sent and the reminder is cancelled with the reason."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from relance.channels.delivery import deliver_pending
from relance.dunning.actions import (
    open_dispute,
    open_insolvency,
    pause_customer,
    plan_today,
    record_promise,
)
from relance.dunning.models import Reminder
from relance.dunning.rules import hold_reason
from relance.dunning.state import PromiseState
from relance.ledger.balances import set_external_paid
from tests.dunning.factories import POLICY, customer, d, invoice

RUN = date(2026, 7, 6)  # J+6 after the due date of the factories' invoices: the first reminder is due
SEND = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("inv", "cust", "today", "reason"),
    [
        (invoice(), customer(), "2026-07-06", ""),
        (invoice(balance="0"), customer(), "2026-07-06", "settled"),
        (invoice(status="written_off"), customer(), "2026-07-06", "settled"),
        (invoice(disputed=True), customer(), "2026-07-06", "disputed"),
        (invoice(in_plan=True), customer(), "2026-07-06", "plan"),
        (invoice(balance="5.00"), customer(), "2026-07-06", "below_minimum"),
        (invoice(), customer(insolvency_date=d("2026-06-15")), "2026-07-06", "insolvency"),
        # The judgment takes effect at 0h on its date: an invoice issued that day is a later claim.
        (invoice(issue_date=d("2026-06-15")), customer(insolvency_date=d("2026-06-15")), "2026-07-06", ""),
        (invoice(promise=PromiseState(1, d("2026-07-06"))), customer(), "2026-07-06", "promise"),
        # The grace: two business days after the promised date (Friday → Tuesday).
        (invoice(promise=PromiseState(1, d("2026-07-03"))), customer(), "2026-07-07", "promise"),
        (invoice(promise=PromiseState(1, d("2026-07-03"))), customer(), "2026-07-08", ""),
        (invoice(), customer(paused_until=d("2026-07-06")), "2026-07-06", "paused"),
        (invoice(), customer(paused_until=d("2026-07-05")), "2026-07-06", ""),
    ],
)
def test_hold_reason_says_why_an_invoice_may_not_be_reminded(inv, cust, today, reason):
    assert hold_reason(inv, cust, d(today), POLICY) == reason


@pytest.fixture
def planned(scenarios, make_customer, make_invoice, tmp_path):
    """A first reminder planned by the run without sending (`relance run --no-send`)."""
    scenarios.email_url = f"file://{tmp_path}"
    scenarios.save()
    cust = make_customer("C100", name="Dupuis SA")
    invoices = [make_invoice(number="F1", cust=cust), make_invoice(number="F2", total="300.00", cust=cust)]
    plan_today(scenarios, RUN)
    reminder = Reminder.objects.get(customer=cust)
    assert reminder.state == "planned" and reminder.lines.count() == 2
    return reminder, cust, invoices


def _assert_cancelled_unsent(reminder, tmp_path, *words):
    stats = deliver_pending(now=SEND)
    reminder.refresh_from_db()
    assert (stats.sent, stats.cancelled) == (0, 1)
    assert reminder.state == "cancelled" and reminder.subject == ""
    assert reminder.error.startswith("annulée avant l'envoi")
    for word in words:
        assert word in reminder.error
    assert list(tmp_path.glob("*.eml")) == []


@time_machine.travel(SEND, tick=False)
def test_a_customer_paused_after_planning_is_sent_nothing(planned, tmp_path):
    reminder, cust, _ = planned
    pause_customer(cust, RUN + timedelta(days=10), "négociation en cours")
    _assert_cancelled_unsent(reminder, tmp_path, "client en pause")


@time_machine.travel(SEND, tick=False)
def test_invoices_disputed_after_planning_are_sent_nothing(planned, tmp_path):
    reminder, _, (f1, f2) = planned
    open_dispute(f1, "livraison incomplète")
    open_dispute(f2, "prix non conforme")
    _assert_cancelled_unsent(reminder, tmp_path, "F1 : contestée", "F2 : contestée")


@time_machine.travel(SEND, tick=False)
def test_invoices_promised_after_planning_are_sent_nothing(planned, tmp_path):
    reminder, _, (f1, f2) = planned
    record_promise(f1, RUN + timedelta(days=7))
    record_promise(f2, RUN + timedelta(days=7))
    _assert_cancelled_unsent(reminder, tmp_path, "promesse de paiement")


@time_machine.travel(SEND, tick=False)
def test_invoices_paid_after_planning_are_sent_nothing(planned, tmp_path):
    reminder, _, (f1, f2) = planned
    set_external_paid(f1, f1.total)
    set_external_paid(f2, f2.total)
    _assert_cancelled_unsent(reminder, tmp_path, "F1 : réglée")


@time_machine.travel(SEND, tick=False)
def test_a_customer_placed_under_insolvency_proceedings_after_planning_is_sent_nothing(planned, tmp_path):
    reminder, cust, _ = planned
    open_insolvency(cust, RUN - timedelta(days=1), "redressement")
    reminder.refresh_from_db()
    # Recording the judgment applies the rule at once to what was waiting to be sent.
    assert reminder.state == "cancelled" and "procédure collective" in reminder.error
    assert deliver_pending(now=SEND).sent == 0


@time_machine.travel(SEND, tick=False)
def test_only_the_lines_no_longer_due_are_dropped(planned, tmp_path):
    reminder, _, (f1, f2) = planned
    open_dispute(f1, "livraison incomplète")
    assert deliver_pending(now=SEND).sent == 1
    reminder.refresh_from_db()
    # Invoice numbers as words: the portal link's random token may hold the letters "F1".
    numbers = set(re.findall(r"(?<![\w-])F\d(?![\w-])", reminder.body_text))
    assert reminder.state == "sent" and numbers == {"F2"}
    assert reminder.total_due == Decimal("300.00")


@time_machine.travel(SEND, tick=False)
def test_plan_pause_send_from_the_command_line_sends_nothing(planned, tmp_path, capsys):
    reminder, cust, _ = planned
    call_command("pause", "--org", "abc", "--customer", "C100", "--until", "2026-07-20", "--reason", "litige global")
    call_command("send_reminders", "--org", "abc", "--no-bounces")
    reminder.refresh_from_db()
    assert reminder.state == "cancelled" and list(tmp_path.glob("*.eml")) == []
