"""The KPIs of November 2026 (relance.reports.kpi) on a ledger checked by hand, and `relance kpi`.

Dupont: A 1,000.00 issued 1 Oct due 31 Oct, paid 10 Nov (10 days late).
        B 2,000.00 issued 5 Nov due 20 Nov, 500.00 paid 15 Nov (5 days early).
        C   600.00 issued 25 Nov due 25 Dec.
Martin: E 3,000.00 issued 10 Oct due 9 Nov, unpaid.
        F   800.00 issued 1 Oct due 20 Oct, paid 14 Nov (25 days late).
        X   400.00 issued 15 Sept, cancelled: nowhere.

Receivables on 31 Oct B = A + E + F = 4,800.00. Sales of November S = B + C = 2,600.00.
Receivables on 30 Nov E = 1,500 + 600 + 3,000 = 5,100.00, of which not due C = 600.00.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from relance.dunning.models import Promise, PromiseState, Reminder, ReminderLine, ReminderState
from relance.dunning.queries import org_today
from relance.ledger import balances
from relance.ledger.models import Customer, Invoice, Payment
from relance.reports.kpi import as_json, dso_count_back, get_kpis, months_back

D = Decimal
PARIS = ZoneInfo("Europe/Paris")
START, END, TODAY = date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 3)


@pytest.fixture
def ledger(org, customer, make_invoice):
    martin = Customer.objects.create(organisation=org, external_id="C002", name="Martin SA")
    inv = {
        "A": make_invoice("1000.00", issue=date(2026, 10, 1), due=date(2026, 10, 31)),
        "B": make_invoice("2000.00", issue=date(2026, 11, 5), due=date(2026, 11, 20)),
        "C": make_invoice("600.00", issue=date(2026, 11, 25), due=date(2026, 12, 25)),
        "E": make_invoice("3000.00", issue=date(2026, 10, 10), due=date(2026, 11, 9), cust=martin),
        "F": make_invoice("800.00", issue=date(2026, 10, 1), due=date(2026, 10, 20), cust=martin),
        "X": make_invoice("400.00", issue=date(2026, 9, 15), due=date(2026, 10, 15), cust=martin),
    }
    Invoice.objects.filter(pk=inv["X"].pk).update(status="cancelled")
    for key, amount, day in (("A", "1000.00", date(2026, 11, 10)), ("B", "500.00", date(2026, 11, 15)),
                             ("F", "800.00", date(2026, 11, 14))):
        invoice = inv[key]
        payment = balances.record_payment(
            Payment(organisation=org, customer=invoice.customer, date=day, amount=D(amount)))
        balances.allocate(invoice, D(amount), payment=payment)
    for key, day, state in (("A", date(2026, 11, 8), PromiseState.KEPT),
                            ("E", date(2026, 11, 12), PromiseState.BROKEN),
                            ("F", date(2026, 11, 13), PromiseState.CANCELLED),
                            ("B", date(2026, 11, 30), PromiseState.OPEN),
                            ("C", date(2026, 12, 1), PromiseState.KEPT)):  # outside the period
        Promise.objects.create(organisation=org, invoice=inv[key], promised_date=day, state=state)

    def remind(cust, channel, step, run_date, sent_on, keys, state=ReminderState.SENT):
        sent_at = datetime.combine(sent_on, datetime.min.time(), tzinfo=PARIS).replace(hour=9) if sent_on else None
        reminder = Reminder.objects.create(organisation=org, customer=cust, channel=channel, run_date=run_date,
                                           state=state, scenario_code="std", step_code=step, template="t",
                                           sent_at=sent_at)
        for key in keys:
            ReminderLine.objects.create(reminder=reminder, invoice=inv[key], step_code=step, balance=D("1"))

    remind(customer, "email", "s1", date(2026, 11, 3), date(2026, 11, 3), ["A"])  # paid 7 days later
    remind(martin, "email", "s1", date(2026, 11, 5), date(2026, 11, 5), ["E"])  # never paid
    remind(martin, "letter", "s2", date(2026, 11, 2), date(2026, 11, 3), ["F"])  # approved, sent a day late; paid in 11
    remind(customer, "sms", "s2", date(2026, 11, 18), date(2026, 11, 18), ["B"])  # partly paid only
    remind(customer, "email", "s1", date(2026, 11, 28), date(2026, 11, 28), ["C"])  # its 7 days are not over
    remind(customer, "email", "s1", date(2026, 11, 19), None, ["B"], state=ReminderState.FAILED)  # never sent
    return inv


def test_the_period_figures(org, ledger):
    k = get_kpis(org, START, END, TODAY)
    assert (k.sales, k.receivables_start, k.receivables_end, k.current_end) == (
        D("2600.00"), D("4800.00"), D("5100.00"), D("600.00"))
    assert k.days == 30


def test_dso_simple_and_count_back(org, ledger):
    k = get_kpis(org, START, END, TODAY)
    assert k.dso_simple == D("58.8")  # 5100 / 2600 × 30
    # November's 2,600 absorbed whole (30 days), the 2,500 left out of October's 4,800 (31 days).
    assert k.dso_count_back == D("46.1")  # 30 + 2500 / 4800 × 31 = 46.15


def test_the_count_back_needs_enough_months():
    assert dso_count_back(D("100"), [(date(2026, 11, 1), date(2026, 11, 30), D("50"))]) is None
    assert dso_count_back(D("0"), []) == D("0.0")


def test_months_back_keeps_calendar_months_from_a_months_end():
    assert months_back(date(2026, 11, 30), 1) == date(2026, 10, 31)
    assert months_back(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_back(date(2026, 3, 15), 14) == date(2025, 1, 15)


def test_payment_delay_is_weighted_by_amount(org, ledger):
    # (1000 × 10 + 500 × −5 + 800 × 25) ÷ 2300 = 11.96
    assert get_kpis(org, START, END, TODAY).payment_delay == D("12.0")


def test_cei_and_overdue_share(org, ledger):
    k = get_kpis(org, START, END, TODAY)
    assert k.cei == D("33.8")  # (4800 + 2600 − 5100) ÷ (4800 + 2600 − 600) = 2300 ÷ 6800
    assert k.overdue_share == D("4500.00") / D("5100.00")


def test_promises_kept_among_those_due_and_settled(org, ledger):
    assert get_kpis(org, START, END, TODAY).promises == {"kept": 1, "broken": 1, "share_kept": D("0.5")}


def test_reminders_that_work_per_step_and_channel(org, ledger):
    results = {(r.step, r.channel): (r.invoices, r.due, r.paid) for r in get_kpis(org, START, END, TODAY).reminders}
    assert results == {
        ("s1", "email"): (3, {7: 2, 14: 2}, {7: 1, 14: 1}),  # A paid on day 7; E never; C too recent
        ("s2", "letter"): (1, {7: 1, 14: 1}, {7: 0, 14: 1}),  # F paid on day 11 after the sending
        ("s2", "sms"): (1, {7: 1, 14: 1}, {7: 0, 14: 0}),  # B only partly paid
    }


def test_the_command_writes_json(org, ledger):
    out = io.StringIO()
    call_command("kpi", "--org", "abc", "--from", "2026-11-01", "--to", "2026-11-30", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data == as_json(get_kpis(org, START, END, org_today(org)))
    assert data["dso_simple"] == "58.8" and data["cei"] == "33.8" and data["overdue_share"] == "0.8824"
    assert data["promises"] == {"kept": 1, "broken": 1, "share_kept": "0.5000"}
    letter = next(r for r in data["reminders"] if r["channel"] == "letter")
    assert letter == {"scenario": "std", "step": "s2", "channel": "letter", "invoices": 1, "paid_7d": 0,
                      "paid_14d": 1, "base_7d": 1, "base_14d": 1, "share_7d": "0.0000", "share_14d": "1.0000"}


def test_the_command_prints_a_summary_and_refuses_a_reversed_period(org, ledger):
    out = io.StringIO()
    with time_machine.travel(datetime(2026, 12, 3, 12, tzinfo=PARIS), tick=False):  # TODAY: C is too recent
        call_command("kpi", "--org", "abc", "--from", "2026-11-01", "--to", "2026-11-30", stdout=out)
    text = out.getvalue()
    assert "DSO simple            58.8 days" in text
    # The per-step table is aligned, and a step too recent to judge shows a dash, not "0/0".
    lines = text.splitlines()
    head = lines.index("  reminders:") + 1
    assert lines[head].split() == ["scenario/step", "channel", "invoices", "paid", "7d", "paid", "14d"]
    assert len({len(line) for line in lines[head:]}) == 1
    assert any(line.split()[-3:] == ["3", "1/2", "1/2"] for line in lines[head + 1:])
    with pytest.raises(CommandError, match="--from 2026-12-01 --to 2026-11-30"):
        call_command("kpi", "--org", "abc", "--from", "2026-12-01", "--to", "2026-11-30")
