"""Every shipped scenario ends with an escalation step, and a formal notice refused at approval stops
the escalation of its invoices (rules.escalation_barred, read by invoice_next)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from relance.channels.escalation import KINDS
from relance.dunning.defaults import SCENARIOS
from relance.dunning.planner import plan_day
from relance.dunning.rules import invoice_next
from tests.channels.email_support import make_reminder
from tests.dunning.factories import CONFIG, DUE, POLICY, customer, d, invoice

NOTICE_DAY = d("2026-07-30")
ESCALATION_DAY = d("2026-08-14")  # due date + 45 days, a Friday


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_every_shipped_scenario_ends_with_an_escalation_step(code):
    *_, last = SCENARIOS[code][1]
    assert last[3] == "escalation" and last[4] in KINDS


def _at_notice(**kw):
    return invoice(balance="1500.00", last_step="formal-notice", last_date=NOTICE_DAY, **kw)


def test_after_the_formal_notice_the_planner_plans_the_escalation():
    step, when = invoice_next(_at_notice(), CONFIG.scenarios["standard"], ESCALATION_DAY, POLICY)
    assert (step.code, step.channel, when) == ("escalation", "escalation", ESCALATION_DAY)
    plan = plan_day(CONFIG, {1: customer()}, [_at_notice()], ESCALATION_DAY)
    assert [(m.channel, m.template, m.step_code) for m in plan.messages] == [
        ("escalation", "order_for_payment", "escalation")]


def test_an_escalation_needs_no_contact_of_the_customer():
    plan = plan_day(CONFIG, {1: customer(channels=frozenset())}, [_at_notice()], ESCALATION_DAY)
    assert [m.channel for m in plan.messages] == ["escalation"] and not plan.tasks


def test_a_refused_formal_notice_stops_the_escalation():
    refused = _at_notice(notice_refused=True, next_date=ESCALATION_DAY)
    assert invoice_next(refused, CONFIG.scenarios["standard"], ESCALATION_DAY, POLICY) is None
    plan = plan_day(CONFIG, {1: customer()}, [refused], ESCALATION_DAY)
    assert plan.messages == [] and plan.tasks == []
    assert [(a.invoice_id, a.next_date) for a in plan.advances] == [(1, None)]
    # Only the escalation: a refused notice leaves the earlier steps as they were.
    early = replace(refused, last_step="first", last_date=DUE + timedelta(days=5))
    assert invoice_next(early, CONFIG.scenarios["standard"], ESCALATION_DAY, POLICY)[0].code == "call"


# ---- on the database: the skip is read back by the run ----


@pytest.fixture
def at_notice(scenarios, alice, make_customer, make_invoice):
    from relance.dunning.models import InvoiceSchedule
    from relance.ledger.models import Invoice

    cust = make_customer("C100", address=True)
    inv = make_invoice(total="1500.00", due=DUE, cust=cust)
    InvoiceSchedule.objects.create(invoice=inv, organisation=scenarios, last_step="formal-notice",
                                   last_date=NOTICE_DAY, next_date=ESCALATION_DAY)
    Invoice.objects.filter(pk=inv.pk).update(dunning_scheduled=True)
    notice = make_reminder(scenarios, cust, [inv], template="formal_notice", step="formal-notice", channel="letter",
                           run_date=NOTICE_DAY, state="awaiting_approval", tone="formal", registered=True)
    return cust, inv, notice


def test_the_run_escalates_after_an_approved_notice(scenarios, at_notice):
    from relance.dunning.actions import plan_today
    from relance.dunning.models import Reminder

    cust, inv, _notice = at_notice
    plan_today(scenarios, ESCALATION_DAY)
    escalation = Reminder.objects.get(customer=cust, channel="escalation")
    assert (escalation.template, escalation.state) == ("order_for_payment", "planned")
    assert [line.invoice_id for line in escalation.lines.all()] == [inv.pk]


def test_the_run_does_not_escalate_after_a_skipped_notice(scenarios, alice, at_notice):
    from relance.dunning.actions import plan_today, skip_reminder
    from relance.dunning.models import InvoiceSchedule, Reminder
    from relance.dunning.snapshot_invoices import refused_notices

    cust, inv, notice = at_notice
    skip_reminder(notice, alice)
    assert refused_notices(scenarios) == {inv.pk}
    plan_today(scenarios, ESCALATION_DAY)
    assert not Reminder.objects.filter(customer=cust, channel="escalation").exists()
    assert InvoiceSchedule.objects.get(pk=inv.pk).next_date is None


def test_a_notice_cancelled_because_it_was_paid_is_not_a_refusal(scenarios, alice, at_notice):
    from relance.dunning.models import Reminder, ReminderLine
    from relance.dunning.snapshot_invoices import refused_notices

    _cust, _inv, notice = at_notice
    # Approved, then cancelled right before the send: its lines dropped (relance.dunning.actions.revalidate_reminder).
    Reminder.objects.filter(pk=notice.pk).update(state="cancelled", approved_by=alice)
    ReminderLine.objects.filter(reminder=notice).update(dropped=True)
    assert refused_notices(scenarios) == set()
