"""relance plan add|list|cancel, and add_payment_plan()."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from relance.dunning.actions import DunningError, add_payment_plan
from relance.dunning.models import Instalment, PaymentPlan, ReminderLine
from relance.ledger.balances import allocate

pytestmark = pytest.mark.django_db


def run(day: str) -> list[dict]:
    out = StringIO()
    call_command("run_dunning", "--org", "abc", "--date", day, "--json", "--no-send", stdout=out)
    return json.loads(out.getvalue())


def plan(*args) -> str:
    out = StringIO()
    call_command("plan", *args, stdout=out)
    return out.getvalue()


def test_instalments_are_dunned_instead_of_the_invoices(scenarios, customer, make_invoice):
    make_invoice(number="F1", total="600.00")
    make_invoice(number="F2", total="600.00")
    plan("add", "--org", "abc", "--customer", "C001", "--invoice", "F1", "--invoice", "F2",
         "--instalment", "2026-07-15:400", "--instalment", "2026-08-14:400", "--instalment", "2026-09-15:400")
    assert run("2026-06-29") == [] and run("2026-07-06") == []
    (message,) = run("2026-07-13")  # three days before the first instalment (15 July)
    assert (message["step"], message["scenario"]) == ("instalment-pre-due", "payment_plan")
    assert message["total_due"] == "400.00"
    line = ReminderLine.objects.get()
    assert line.instalment.position == 1 and line.step_code == f"i{line.instalment_id}-instalment-pre-due"


def test_a_paid_instalment_is_not_dunned(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1", total="800.00")
    add_payment_plan(customer, [inv], [(date(2026, 7, 15), Decimal("400")), (date(2026, 8, 14), Decimal("400"))])
    allocate(inv, Decimal("400.00"))
    assert run("2026-07-13") == [] and run("2026-07-20") == []
    assert [m["step"] for m in run("2026-08-11")] == ["instalment-pre-due"]
    assert Instalment.objects.get(position=2).dunning_last_step == "instalment-pre-due"


def test_instalments_must_add_up_to_the_balance(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1", total="800.00")
    with pytest.raises(DunningError, match="totalisent 700"):
        add_payment_plan(customer, [inv], [(date(2026, 7, 15), Decimal("400")), (date(2026, 8, 14), Decimal("300"))])


def test_an_invoice_is_in_one_plan_at_a_time(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1", total="400.00")
    add_payment_plan(customer, [inv], [(date(2026, 7, 15), Decimal("400"))])
    with pytest.raises(DunningError, match="déjà dans un échéancier"):
        add_payment_plan(customer, [inv], [(date(2026, 7, 15), Decimal("400"))])


def test_another_customers_invoice_is_refused(scenarios, customer, make_customer, make_invoice):
    other = make_customer("C002")
    inv = make_invoice(number="F1", cust=other)
    with pytest.raises(DunningError, match="pas au client C001"):
        add_payment_plan(customer, [inv], [(date(2026, 7, 15), Decimal("1200"))])


def test_a_cancelled_plan_gives_the_invoices_back_to_their_scenario(scenarios, customer, make_invoice):
    make_invoice(number="F1", total="400.00")
    plan("add", "--org", "abc", "--customer", "C001", "--invoice", "F1", "--instalment", "2026-09-15:400")
    plan_id = PaymentPlan.objects.get().pk
    assert plan("list", "--org", "abc").split("\t")[:4] == [str(plan_id), "C001", "active", "F1"]
    plan("cancel", "--org", "abc", "--id", str(plan_id))
    assert [m["step"] for m in run("2026-07-06")] == ["first"]


def test_a_malformed_instalment_is_a_one_line_error(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    with pytest.raises(CommandError, match="--instalment '2026-07-15' \\(no. 1\\): expected DATE:AMOUNT"):
        plan("add", "--org", "abc", "--customer", "C001", "--invoice", "F1", "--instalment", "2026-07-15")
    with pytest.raises(CommandError, match="--instalment no. 1"):
        plan("add", "--org", "abc", "--customer", "C001", "--invoice", "F1", "--instalment", "demain:100")
