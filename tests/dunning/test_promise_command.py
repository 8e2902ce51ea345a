"""relance promise add|list, and record_promise()."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from relance.dunning.actions import DunningError, record_promise
from relance.dunning.models import Promise, Task
from relance.ledger.balances import allocate
from tests.schedule_support import next_date_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    # The promises below are made on Thursday 2 July 2026, before their dates.
    with time_machine.travel("2026-07-02 10:00 +02:00", tick=False):
        yield


def run(day: str) -> list[dict]:
    out = StringIO()
    call_command("run_dunning", "--org", "abc", "--date", day, "--json", "--no-send", stdout=out)
    return json.loads(out.getvalue())


def promise(*args) -> str:
    out = StringIO()
    call_command("promise", *args, stdout=out)
    return out.getvalue()


def test_a_promise_silences_the_invoice_until_the_grace_is_over(scenarios, customer, make_invoice, bob):
    make_invoice(number="F1")
    run("2026-07-06")  # first reminder
    promise("add", "--org", "abc", "--invoice", "F1", "--date", "2026-07-10", "--user", "bob")
    assert run("2026-07-13") == [] and run("2026-07-15") == []  # call step due, but promised
    # Promised Friday 10, two business days of grace (13 and 15; 14 July off): broken on Thursday 16.
    assert [(m["step"], m["invoices"]) for m in run("2026-07-16")] == [("broken-promise", ["F1"])]
    p = Promise.objects.get()
    assert p.state == "broken" and p.created_by == bob
    assert Task.objects.filter(kind="broken_promise").count() == 1
    # The scenario resumes at its next step, after its minimum gap.
    assert run("2026-07-20") == []
    assert [m["step"] for m in run("2026-07-21")] == ["call"]


def test_a_promise_is_kept_when_the_invoice_is_paid(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    record_promise(inv, date(2026, 7, 10))
    allocate(inv, Decimal("1200.00"))
    run("2026-07-06")
    assert Promise.objects.get().state == "kept"


def test_a_promise_of_an_amount_is_kept_when_that_amount_is_paid(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    record_promise(inv, date(2026, 7, 10), amount=Decimal("500.00"))
    allocate(inv, Decimal("500.00"))
    run("2026-07-06")
    assert Promise.objects.get().state == "kept"


def test_a_new_promise_replaces_the_open_one(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    record_promise(inv, date(2026, 7, 10))
    record_promise(inv, date(2026, 7, 20))
    assert sorted(Promise.objects.values_list("state", flat=True)) == ["cancelled", "open"]


def test_a_promise_moves_the_indexed_next_date_past_the_grace(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    record_promise(inv, date(2026, 7, 10))
    inv.refresh_from_db()
    assert next_date_of(inv) == date(2026, 7, 16)


def test_a_promise_on_a_paid_invoice_or_for_too_much_is_refused(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    with pytest.raises(DunningError, match="montant promis"):
        record_promise(inv, date(2026, 7, 10), amount=Decimal("5000"))
    allocate(inv, Decimal("1200.00"))
    with pytest.raises(DunningError, match="déjà soldée"):
        record_promise(inv, date(2026, 7, 10))


def test_the_list_shows_open_promises(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    promise("add", "--org", "abc", "--invoice", "F1", "--date", "10/07/2026", "--amount", "300,50")
    assert promise("list", "--org", "abc").split("\t") == ["F1", "C001", "2026-07-10", "300.50", "open\n"]


def test_unknown_invoice_and_bad_amount_are_one_line_errors(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    with pytest.raises(CommandError, match="--invoice 'F9'"):
        promise("add", "--org", "abc", "--invoice", "F9", "--date", "2026-07-10")
    with pytest.raises(CommandError, match="--amount 'abc'"):
        promise("add", "--org", "abc", "--invoice", "F1", "--date", "2026-07-10", "--amount", "abc")
    with pytest.raises(CommandError, match="--user 'charlie'"):
        promise("add", "--org", "abc", "--invoice", "F1", "--date", "2026-07-10", "--user", "charlie")


def test_a_promised_date_already_past_is_refused_by_the_action(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    with pytest.raises(DunningError, match="date promise 2026-07-01 déjà passée"):
        record_promise(inv, date(2026, 7, 1))
    assert not Promise.objects.exists()


def test_a_promise_for_today_is_accepted(scenarios, customer, make_invoice):
    record_promise(make_invoice(number="F1"), date(2026, 7, 2))
    assert Promise.objects.get().promised_date == date(2026, 7, 2)


def test_the_command_refuses_a_past_date_in_one_line(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    with pytest.raises(CommandError, match="2026-06-30 déjà passée"):
        promise("add", "--org", "abc", "--invoice", "F1", "--date", "30/06/2026")
    assert not Promise.objects.exists()


def test_the_organisation_time_zone_decides_what_today_is(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    # 23:30 UTC on 1 July is already 2 July in Paris: 1 July is past there.
    with time_machine.travel("2026-07-01 23:30 +00:00", tick=False), pytest.raises(DunningError, match="passée"):
        record_promise(inv, date(2026, 7, 1))
