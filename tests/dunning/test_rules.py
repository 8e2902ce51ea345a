"""Pure rules: scenario choice, step dates, the status label."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from relance.dunning.labels import status_label
from relance.dunning.rules import (
    choose_scenario,
    invoice_next,
    invoice_status,
    promise_grace_end,
    spread_plan_payments,
    step_date,
    template_for,
)
from relance.dunning.state import PromiseState, StepSpec
from tests.dunning.factories import CONFIG, DUE, ISSUE, POLICY, customer, d, invoice


@pytest.mark.parametrize(
    "attrs, total_due, expected",
    [
        ({}, "5000", "standard"),
        ({"scenario_code": "consumer", "strategic": True}, "5000", "consumer"),  # explicit choice wins
        ({"strategic": True, "kind": "consumer"}, "5000", "strategic"),
        ({"kind": "consumer"}, "50", "consumer"),  # consumer before small amount
        ({}, "149.99", "small_amount"),
        ({}, "150.00", "standard"),  # under the threshold only
        ({"segment": "high"}, "5000", "high_risk"),
        ({"segment": "high"}, "100", "small_amount"),  # small amount before segment
        ({"scenario_code": "no-such-scenario"}, "5000", "standard"),
    ],
)
def test_it_chooses_the_first_matching_scenario(attrs, total_due, expected):
    assert choose_scenario(customer(**attrs), Decimal(total_due), CONFIG).code == expected


def test_a_rule_whose_scenario_is_inactive_is_passed_over():
    scenarios = {k: v for k, v in CONFIG.scenarios.items() if k != "small_amount"}
    config = replace(CONFIG, scenarios=scenarios)
    assert choose_scenario(customer(), Decimal("20"), config).code == "standard"


def test_a_small_amount_rule_may_carry_its_own_threshold():
    rules = tuple(replace(r, value="500") if r.condition == "small_amount" else r for r in CONFIG.rules)
    assert choose_scenario(customer(), Decimal("400"), replace(CONFIG, rules=rules)).code == "small_amount"


STANDARD = CONFIG.scenarios["standard"]


@pytest.mark.parametrize(
    "last_step, last_date, today, expected_step, expected_date",
    [
        # J-3 is Saturday 27 June: moved to Monday 29.
        ("", None, "2026-06-01", "pre-due", "2026-06-29"),
        # J+5 is Sunday 5 July: Monday 6.
        ("pre-due", "2026-06-29", "2026-06-29", "first", "2026-07-06"),
        # J+12 is Sunday 12 July: Monday 13.
        ("first", "2026-07-06", "2026-07-06", "call", "2026-07-13"),
        # The call gets two business days (15 and 16, the 14 July is off); the firm e-mail goes Friday 17.
        ("call", "2026-07-13", "2026-07-13", "firm", "2026-07-17"),
        # J+18 is a Saturday and the gap after the firm e-mail is 3 days: Monday 20.
        ("firm", "2026-07-17", "2026-07-17", "sms", "2026-07-20"),
        ("sms", "2026-07-20", "2026-07-20", "formal-notice", "2026-07-30"),
        ("formal-notice", "2026-07-30", "2026-07-30", "escalation", "2026-08-14"),
        # The minimum gap wins over the offset when the previous step was late.
        ("first", "2026-07-10", "2026-07-10", "call", "2026-07-15"),
    ],
)
def test_the_next_step_is_due_on_the_later_of_offset_and_gap_on_a_business_day(
    last_step, last_date, today, expected_step, expected_date
):
    inv = invoice(last_step=last_step, last_date=d(last_date) if last_date else None)
    step, when = invoice_next(inv, STANDARD, d(today), POLICY)
    assert (step.code, when) == (expected_step, d(expected_date))


def test_the_scenario_ends_after_its_last_step():
    inv = invoice(last_step="escalation", last_date=d("2026-08-14"))
    assert invoice_next(inv, STANDARD, d("2026-08-14"), POLICY) is None


def test_steps_before_the_due_date_are_skipped_for_an_invoice_already_overdue():
    inv = invoice()  # never reminded, first seen after its due date
    step, when = invoice_next(inv, STANDARD, d("2026-07-02"), POLICY)
    assert (step.code, when) == ("first", d("2026-07-06"))


def test_the_pre_due_step_is_kept_on_the_due_date_itself():
    step, _ = invoice_next(invoice(), STANDARD, DUE, POLICY)
    assert step.code == "pre-due"


def test_an_issue_date_anchor_counts_from_the_invoice_date():
    early_call = StepSpec("early-call", 1, 2, "call", "call_script", anchor="issue")
    late = StepSpec("first", 2, 5, "email", "first_reminder")
    assert step_date(early_call, DUE, ISSUE, None, POLICY) == d("2026-06-02")  # 31 May + 2
    scenario = replace(STANDARD, code="anticipation", steps=(early_call, late))
    step, when = invoice_next(invoice(), scenario, d("2026-06-01"), POLICY)
    assert (step.code, when) == ("early-call", d("2026-06-02"))
    # Once overdue, the anticipation call (planned before the due date) is skipped.
    step, _ = invoice_next(invoice(), scenario, d("2026-07-01"), POLICY)
    assert step.code == "first"


def test_the_conditional_firm_email_is_skipped_when_the_call_got_an_outcome():
    inv = invoice(last_step="call", last_date=d("2026-07-13"), call_outcome_on=d("2026-07-14"))
    step, when = invoice_next(inv, STANDARD, d("2026-07-17"), POLICY)
    assert (step.code, when) == ("sms", d("2026-07-20"))


def test_an_outcome_from_an_earlier_call_does_not_count():
    inv = invoice(last_step="call", last_date=d("2026-07-13"), call_outcome_on=d("2026-07-01"))
    step, _ = invoice_next(inv, STANDARD, d("2026-07-16"), POLICY)
    assert step.code == "firm"


def test_a_customer_moved_to_another_scenario_resumes_after_the_last_step_date():
    small = CONFIG.scenarios["small_amount"]
    inv = invoice(last_step="call", last_date=d("2026-07-13"))  # a step small_amount does not have
    step, when = invoice_next(inv, small, d("2026-07-13"), POLICY)
    assert (step.code, when) == ("formal-notice", d("2026-07-21"))


def test_a_promise_protects_until_two_business_days_after_the_promised_date():
    assert promise_grace_end(d("2026-07-10"), POLICY) == d("2026-07-15")  # Fri + Mon, (14th off), Wed


@pytest.mark.parametrize(
    "inv_attrs, cust_attrs, today, expected",
    [
        ({}, {}, "2026-06-01", "not_due"),
        ({}, {}, "2026-06-23", "to_warn"),
        ({}, {}, "2026-07-01", "to_remind"),
        ({"balance": "0"}, {}, "2026-07-01", "settled"),
        ({"status": "paid", "balance": "0"}, {}, "2026-07-01", "settled"),
        ({"disputed": True}, {}, "2026-07-01", "disputed"),
        ({"in_plan": True}, {}, "2026-07-01", "plan"),
        ({}, {"paused_until": "2026-07-31"}, "2026-07-01", "paused"),
        ({"promise": PromiseState(1, d("2026-07-10"))}, {}, "2026-07-01", "promise"),
        ({"promise": PromiseState(1, d("2026-07-10"))}, {}, "2026-07-20", "to_remind"),  # past the grace
        ({"last_step": "formal-notice", "last_date": d("2026-07-30")}, {}, "2026-08-03", "to_formalise"),
        ({"last_step": "sms", "last_date": d("2026-07-20")}, {}, "2026-07-30", "to_formalise"),  # notice due
        ({"last_step": "sms", "last_date": d("2026-07-20")}, {}, "2026-07-29", "to_remind"),
    ],
)
def test_every_invoice_shows_one_status(inv_attrs, cust_attrs, today, expected):
    cust_attrs = {k: d(v) if k == "paused_until" else v for k, v in cust_attrs.items()}
    assert invoice_status(invoice(**inv_attrs), customer(**cust_attrs), STANDARD, d(today), POLICY) == expected


def test_status_labels_are_french_by_default_and_english_on_request():
    assert status_label("to_warn") == "À prévenir"
    assert status_label("to_formalise") == "À formaliser"
    assert status_label("settled", "en") == "Settled"
    assert status_label("insolvency") == "Procédure collective"


def test_a_step_performed_on_another_channel_uses_that_channels_template_of_the_same_tone():
    sms = STANDARD.step("sms")
    assert template_for(sms, "sms") == "sms_reminder"
    assert template_for(sms, "email") == "firm_reminder"
    assert template_for(STANDARD.step("formal-notice"), "email") == "formal_notice"


def test_plan_payments_pay_the_oldest_instalments_first():
    amounts = [Decimal("100"), Decimal("100"), Decimal("100")]
    assert spread_plan_payments(amounts, Decimal("150")) == [Decimal("0"), Decimal("50"), Decimal("100")]
    assert spread_plan_payments(amounts, Decimal("0")) == amounts
