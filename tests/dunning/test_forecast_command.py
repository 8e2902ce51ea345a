"""relance forecast: the coming days, without writing."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from relance.dunning.models import InvoiceSchedule, Reminder

pytestmark = pytest.mark.django_db


def forecast(*args) -> str:
    out = StringIO()
    call_command("forecast", "--org", "abc", *args, stdout=out)
    return out.getvalue()


def test_the_forecast_lists_each_days_messages_and_writes_nothing(scenarios, customer, make_customer, make_invoice):
    make_invoice(number="F1")
    make_invoice(number="F2", cust=make_customer("C002", phone="06 11 22 33 44"), due=date(2026, 7, 2))
    days = json.loads(forecast("--date", "2026-06-25", "--days", "30", "--json"))
    assert len(days) == 30 and days[0]["date"] == "2026-06-25"
    busy = {d["date"]: [(m["customer"], m["channel"], m["step"]) for m in d["messages"]] for d in days if d["messages"]}
    assert busy == {
        "2026-06-29": [("C001", "email", "pre-due"), ("C002", "email", "pre-due")],
        "2026-07-06": [("C001", "email", "first")],
        "2026-07-07": [("C002", "email", "first")],
        "2026-07-13": [("C001", "email", "call")],  # C001 has no phone: by e-mail
        "2026-07-15": [("C002", "call", "call")],
        "2026-07-17": [("C001", "email", "firm")],
        "2026-07-20": [("C001", "email", "sms"), ("C002", "email", "firm")],
        "2026-07-23": [("C002", "sms", "sms")],  # three days after the firm e-mail
    }
    assert days[4]["counts"] == {"email": 2}
    assert Reminder.objects.count() == 0
    assert not InvoiceSchedule.objects.exists()


def test_the_text_forecast_is_a_table_per_day_and_channel(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    lines = forecast("--date", "2026-06-29", "--days", "2").splitlines()
    assert lines[0].split() == ["date", "email", "sms", "letter", "call", "tasks"]
    assert lines[1].split() == ["2026-06-29", "1", "0", "0", "0", "0"]
    assert len(lines) == 3


def test_the_number_of_days_is_checked(scenarios):
    with pytest.raises(CommandError, match="--days 0"):
        forecast("--days", "0")
