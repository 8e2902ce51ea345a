"""The daily plan, pure: table-driven, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from relance.dunning.planner import next_dates, plan_day, simulate
from relance.dunning.state import InstalmentState, PlanState, Policy, PromiseState
from tests.dunning.factories import CONFIG, DUE, customer, d, invoice


def customers(*custs):
    return {c.id: c for c in custs}


def performed(plan):
    """{invoice id: step code} of what the run did."""
    return {line.invoice_id: line.step_code for m in plan.messages for line in m.lines} | {
        a.invoice_id: a.last_step for a in plan.advances if a.performed and a.invoice_id not in
        {line.invoice_id for m in plan.messages for line in m.lines}
    }


def test_a_full_standard_scenario_moves_one_step_at_a_time_on_business_days():
    days = simulate(CONFIG, customers(customer()), [invoice()], d("2026-06-01"), 80)
    done = [(p.day.isoformat(), m.step_code, m.channel) for p in days for m in p.messages]
    assert done == [
        ("2026-06-29", "pre-due", "email"),
        ("2026-07-06", "first", "email"),
        ("2026-07-13", "call", "call"),
        ("2026-07-17", "firm", "email"),
        ("2026-07-20", "sms", "sms"),
        ("2026-07-30", "formal-notice", "letter"),
        ("2026-08-14", "escalation", "escalation"),
    ]


@pytest.mark.parametrize(
    "today, expected",
    [
        ("2026-06-26", None),  # Friday before the pre-due step: nothing
        ("2026-06-27", None),  # the Saturday it was due on is not a business day
        ("2026-06-29", "pre-due"),
        ("2026-06-30", "pre-due"),  # a missed run is caught up the next day (not yet overdue)
        ("2026-07-01", None),  # overdue now: the pre-due step is skipped, "first" is due on 6 July
        ("2026-07-06", "first"),
        ("2026-09-01", "first"),  # months late: one step only, the first one
    ],
)
def test_a_run_performs_at_most_the_next_step_when_it_is_due(today, expected):
    plan = plan_day(CONFIG, customers(customer()), [invoice()], d(today))
    assert performed(plan).get(1) == expected


def test_a_missed_run_catches_up_one_step_per_run():
    inv = invoice(last_step="first", last_date=d("2026-07-06"))
    days = simulate(CONFIG, customers(customer()), [inv], d("2026-09-01"), 20)
    done = [(p.day.isoformat(), m.step_code) for p in days for m in p.messages]
    # call due long ago: today; firm e-mail after the call's two business days; then the gaps.
    assert done == [
        ("2026-09-01", "call"),
        ("2026-09-04", "firm"),
        ("2026-09-07", "sms"),
        ("2026-09-14", "formal-notice"),
    ]


def test_a_second_run_on_the_same_day_does_nothing_new():
    first = plan_day(CONFIG, customers(customer()), [invoice()], d("2026-07-06"))
    adv = {a.invoice_id: a for a in first.advances}[1]
    after = invoice(last_step=adv.last_step, last_date=adv.last_date, next_date=adv.next_date)
    second = plan_day(CONFIG, customers(customer()), [after], d("2026-07-06"))
    assert second.messages == [] and second.tasks == []


def test_a_step_with_no_gap_still_waits_for_the_next_day():
    scenario = CONFIG.scenarios["standard"]
    steps = tuple(replace(s, min_gap_days=0, offset_days=5) if s.code == "call" else s for s in scenario.steps)
    config = replace(CONFIG, scenarios={**CONFIG.scenarios, "standard": replace(scenario, steps=steps)})
    inv = invoice(last_step="first", last_date=d("2026-07-06"))
    assert plan_day(config, customers(customer()), [inv], d("2026-07-06")).messages == []
    assert performed(plan_day(config, customers(customer()), [inv], d("2026-07-07")))[1] == "call"


def test_one_message_per_customer_and_channel_worded_by_the_most_advanced_step():
    invs = [
        invoice(1, last_step="pre-due", last_date=d("2026-06-29")),  # first due on 6 July
        invoice(2, due_date=d("2026-06-01"), last_step="first", last_date=d("2026-06-08"),
                issue_date=d("2026-05-01")),  # long overdue: call due
        invoice(3, due_date=d("2026-06-05"), last_step="call", last_date=d("2026-06-15"),
                issue_date=d("2026-05-05")),  # firm e-mail due
        invoice(4, due_date=d("2026-09-30")),  # not due: not in any message, not overdue
        invoice(5, due_date=d("2026-06-20"), last_step="first", last_date=d("2026-07-03"),
                issue_date=d("2026-05-20")),  # overdue, next step not yet due: listed as other overdue
    ]
    plan = plan_day(CONFIG, customers(customer()), invs, d("2026-07-06"))
    by_channel = {m.channel: m for m in plan.messages}
    assert set(by_channel) == {"email", "call"}
    email = by_channel["email"]
    assert [(line.number, line.step_code) for line in email.lines] == [("F00001", "first"), ("F00003", "firm")]
    assert email.step_code == "firm" and email.template == "firm_reminder" and email.tone == "firm"
    assert email.total_due == Decimal("2400.00")
    assert set(email.other_overdue) == {2, 5}
    assert by_channel["call"].step_code == "call"
    assert [t.kind for t in plan.tasks] == ["call"]
    assert {a.invoice_id: a.last_step for a in plan.advances if a.performed} == {1: "first", 2: "call", 3: "firm"}


def test_different_customers_get_different_messages():
    invs = [invoice(1, customer_id=1), invoice(2, customer_id=2)]
    plan = plan_day(CONFIG, customers(customer(1), customer(2)), invs, d("2026-06-29"))
    assert sorted(m.customer_id for m in plan.messages) == [1, 2]


@pytest.mark.parametrize(
    "invoice_attrs, reason",
    [
        ({"balance": "0.00"}, "paid"),
        ({"balance": "-20.00"}, "credit note larger than the invoice"),
        ({"balance": "9.99"}, "below the organisation minimum"),
        ({"status": "paid"}, "status paid"),
        ({"status": "cancelled"}, "cancelled"),
        ({"disputed": True}, "open dispute"),
        ({"status": "disputed"}, "disputed status"),
        ({"in_plan": True}, "in a payment plan"),
        ({"promise": PromiseState(7, d("2026-07-08"))}, "promise until 8 July + 2 business days"),
    ],
)
def test_it_never_reminds(invoice_attrs, reason):
    plan = plan_day(CONFIG, customers(customer()), [invoice(**invoice_attrs)], d("2026-07-06"))
    assert plan.messages == [] and plan.tasks == [], reason


def test_the_minimum_amount_is_the_organisations():
    config = replace(CONFIG, policy=Policy(min_amount=Decimal("50")))
    plan = plan_day(config, customers(customer()), [invoice(balance="40.00")], d("2026-07-06"))
    assert plan.messages == []


def test_small_debts_follow_the_small_amount_scenario():
    days = simulate(CONFIG, customers(customer()), [invoice(balance="120.00")], d("2026-06-01"), 60)
    done = [(p.day.isoformat(), m.step_code, m.scenario_code, m.needs_approval) for p in days for m in p.messages]
    assert done == [
        ("2026-07-07", "first", "small_amount", False),
        ("2026-07-21", "formal-notice", "small_amount", True),
    ]


def test_the_threshold_counts_the_customers_whole_debt():
    invs = [invoice(1, balance="100.00"), invoice(2, balance="100.00", due_date=d("2026-09-30"))]
    plan = plan_day(CONFIG, customers(customer()), invs, d("2026-06-29"))
    assert plan.messages[0].scenario_code == "standard"


def test_a_broken_promise_is_reported_and_the_scenario_resumes_at_its_next_step():
    inv = invoice(last_step="first", last_date=d("2026-07-06"), promise=PromiseState(7, d("2026-07-10")))
    days = simulate(CONFIG, customers(customer()), [inv], d("2026-07-07"), 20)
    # Promised Friday 10; grace Monday 13 and Wednesday 15 (14 July off); broken Thursday 16.
    assert [p.day.isoformat() for p in days if p.broken_promises] == ["2026-07-16"]
    broken_day = next(p for p in days if p.broken_promises)
    (message,) = broken_day.messages
    assert (message.channel, message.step_code, message.template) == ("email", "broken-promise", "broken_promise")
    assert message.lines[0].step_code == "broken-promise-7"
    assert [t.kind for t in broken_day.tasks] == ["broken_promise"]
    # Then the call step, five days after the broken-promise message (its minimum gap).
    later = [(p.day.isoformat(), m.step_code) for p in days for m in p.messages if p.day > broken_day.day]
    assert later[0] == ("2026-07-21", "call")


def test_a_promise_kept_within_the_grace_protects_the_invoice():
    inv = invoice(last_step="first", last_date=d("2026-07-06"), promise=PromiseState(7, d("2026-07-10")))
    plan = plan_day(CONFIG, customers(customer()), [inv], d("2026-07-15"))
    assert plan.messages == [] and plan.broken_promises == []
    assert plan.advances[0].next_date == d("2026-07-16")


def test_payment_plan_instalments_are_dunned_instead_of_the_invoices():
    plan_state = PlanState(
        id=3, customer_id=1, invoice_ids=(1,), anchor_invoice_id=1, anchor_number="F00001",
        instalments=(
            InstalmentState(31, 1, d("2026-07-15"), Decimal("400"), Decimal("0")),  # paid
            InstalmentState(32, 2, d("2026-08-14"), Decimal("400"), Decimal("400")),
            InstalmentState(33, 3, d("2026-09-15"), Decimal("400"), Decimal("400")),
        ),
    )
    inv = invoice(in_plan=True, last_step="first", last_date=d("2026-07-06"))
    days = simulate(CONFIG, customers(customer()), [inv], d("2026-07-07"), 75, plans=[plan_state])
    done = [(p.day.isoformat(), line.step_code, line.balance) for p in days for m in p.messages for line in m.lines]
    assert done == [
        ("2026-08-11", "i32-instalment-pre-due", Decimal("400")),
        ("2026-08-17", "i32-instalment-late", Decimal("400")),
        ("2026-08-24", "i32-instalment-call", Decimal("400")),
        ("2026-09-14", "i33-instalment-pre-due", Decimal("400")),
        ("2026-09-18", "i33-instalment-late", Decimal("400")),
    ]
    assert all(m.scenario_code == "payment_plan" for p in days for m in p.messages)


@pytest.mark.parametrize(
    "today, paused_until, expected",
    [
        ("2026-07-06", "2026-07-31", None),
        ("2026-07-31", "2026-07-31", None),  # the end date is still paused
        ("2026-08-03", "2026-07-31", "first"),  # then it resumes where it was, one step
        ("2026-07-06", "2026-07-05", "first"),
    ],
)
def test_a_paused_customer_gets_nothing_until_the_end_of_the_pause(today, paused_until, expected):
    cust = customer(paused_until=d(paused_until))
    inv = invoice(last_step="pre-due", last_date=d("2026-06-29"))
    assert performed(plan_day(CONFIG, customers(cust), [inv], d(today))).get(1) == expected


def test_a_paused_customers_next_date_is_after_the_pause():
    cust = customer(paused_until=d("2026-07-31"))
    (adv,) = next_dates(CONFIG, customers(cust), [invoice(last_step="pre-due", last_date=d("2026-06-29"))],
                        d("2026-07-06"))
    assert adv.next_date == d("2026-08-03")


@pytest.mark.parametrize(
    "channels, step, expected_channel, fix",
    [
        ({"letter", "sms", "call"}, "first", "letter", "email"),  # no e-mail: a letter
        ({"sms", "call"}, "first", "sms", "email"),
        ({"email", "letter", "call"}, "sms", "email", "sms"),  # no mobile: the SMS goes by e-mail
        ({"email"}, "call", "email", "call"),  # no phone: an e-mail instead of the call
        ({"sms", "call"}, "formal-notice", "", "letter"),  # no address, no e-mail: nothing, fix tasks
    ],
)
def test_a_missing_contact_falls_back_to_the_next_channel_and_asks_for_a_fix(channels, step, expected_channel, fix):
    order = [s.code for s in CONFIG.scenarios["standard"].steps]
    previous = order[order.index(step) - 1]
    inv = invoice(last_step=previous, last_date=d("2026-06-01"), due_date=d("2026-05-01"),
                  issue_date=d("2026-04-01"))
    plan = plan_day(CONFIG, customers(customer(channels=frozenset(channels))), [inv], d("2026-07-06"))
    assert [m.channel for m in plan.messages] == ([expected_channel] if expected_channel else [])
    fixes = [t.channel for t in plan.tasks if t.kind == "fix_contact"]
    assert fix in fixes
    if expected_channel:
        assert plan.messages[0].fallback_from == CONFIG.scenarios["standard"].step(step).channel
    else:
        # Not performed: the invoice stays due and is tried again tomorrow.
        assert plan.advances == [replace(plan.advances[0], last_step=previous, next_date=d("2026-07-07"))]


def test_high_risk_firm_email_comes_with_a_call_task():
    inv = invoice(last_step="first", last_date=d("2026-07-01"))
    plan = plan_day(CONFIG, customers(customer(segment="high")), [inv], d("2026-07-06"))
    (message,) = plan.messages
    assert (message.scenario_code, message.step_code, message.channel) == ("high_risk", "firm", "email")
    assert [(t.kind, t.message_channel) for t in plan.tasks] == [("call", "email")]


def test_the_escalation_step_is_a_message_of_its_own_channel_whose_delivery_makes_the_documents():
    inv = invoice(last_step="formal-notice", last_date=d("2026-07-30"))
    plan = plan_day(CONFIG, customers(customer()), [inv], d("2026-08-14"))
    assert [(m.channel, m.template, [line.invoice_id for line in m.lines]) for m in plan.messages] == [
        ("escalation", "order_for_payment", [1])]
    assert plan.tasks == []  # the escalation channel's backend opens the task, with the documents
    assert plan.advances[0].last_step == "escalation" and plan.advances[0].next_date is None


def test_steps_needing_approval_mark_the_message():
    inv = invoice(last_step="sms", last_date=d("2026-07-20"))
    (message,) = plan_day(CONFIG, customers(customer()), [inv], d("2026-07-30")).messages
    assert message.needs_approval and message.registered and message.channel == "letter"


def test_a_channel_already_used_today_is_left_for_tomorrow():
    plan = plan_day(CONFIG, customers(customer()), [invoice()], d("2026-06-29"), busy={(1, "email")})
    assert plan.messages == []
    assert plan.advances[0].next_date == d("2026-06-29") + timedelta(days=1)


def test_only_the_candidates_are_examined_the_others_give_context():
    invs = [invoice(1), invoice(2, due_date=d("2026-06-01"), last_step="first", last_date=d("2026-06-08"),
                                issue_date=d("2026-05-01"))]
    plan = plan_day(CONFIG, customers(customer()), invs, d("2026-06-29"), candidates={1})
    (message,) = plan.messages
    assert [line.invoice_id for line in message.lines] == [1] and message.other_overdue == (2,)


def test_next_dates_give_the_index_without_acting():
    invs = [invoice(1), invoice(2, balance="0"), invoice(3, disputed=True)]
    result = {a.invoice_id: a.next_date for a in next_dates(CONFIG, customers(customer()), invs, d("2026-06-01"))}
    assert result == {1: d("2026-06-29"), 2: None, 3: None}


def test_a_customer_without_state_is_left_alone():
    plan = plan_day(CONFIG, {}, [invoice(next_date=DUE)], d("2026-07-06"))
    assert plan.messages == [] and plan.advances[0].next_date is None
