"""relance pause, and pause_customer()/resume_customer()."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from relance.dunning.actions import DunningError, pause_customer
from tests.schedule_support import next_date_of

pytestmark = pytest.mark.django_db


def run(day: str) -> list[dict]:
    out = StringIO()
    call_command("run_dunning", "--org", "abc", "--date", day, "--json", "--no-send", stdout=out)
    return json.loads(out.getvalue())


@time_machine.travel("2026-07-01 10:00 +02:00", tick=False)
def test_a_paused_customer_is_not_reminded_until_the_end_date(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    call_command("pause", "--org", "abc", "--customer", "C001", "--until", "2026-07-31",
                 "--reason", "Négociation en cours", stdout=StringIO())
    customer.refresh_from_db()
    assert (customer.paused_until, customer.pause_reason) == (date(2026, 7, 31), "Négociation en cours")
    inv.refresh_from_db()
    assert next_date_of(inv) == date(2026, 8, 3)
    assert run("2026-07-06") == [] and run("2026-07-31") == []
    assert [m["step"] for m in run("2026-08-03")] == ["first"]


@time_machine.travel("2026-07-01 10:00 +02:00", tick=False)
def test_resume_ends_the_pause(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    pause_customer(customer, date(2026, 7, 31), "Litige commercial global")
    call_command("pause", "--org", "abc", "--customer", "C001", "--resume", stdout=StringIO())
    assert [m["step"] for m in run("2026-07-06")] == ["first"]


@time_machine.travel("2026-07-01 10:00 +02:00", tick=False)
def test_a_pause_in_the_past_or_without_reason_is_refused(scenarios, customer):
    with pytest.raises(DunningError, match="est passée"):
        pause_customer(customer, date(2026, 6, 1), "x")
    with pytest.raises(CommandError, match="--until and --reason"):
        call_command("pause", "--org", "abc", "--customer", "C001", "--until", "2026-07-31")
    with pytest.raises(CommandError, match="--customer 'C999'"):
        call_command("pause", "--org", "abc", "--customer", "C999", "--until", "2026-07-31", "--reason", "x")
