"""The planner's states read from the database: channels, scenarios, call outcomes, segments."""

from __future__ import annotations

import json
from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from relance.dunning.actions import create_task
from relance.dunning.models import Scenario
from relance.dunning.snapshot import get_config, is_mobile, load_customers
from relance.ledger.models import Contact
from tests.schedule_support import set_schedule

pytestmark = pytest.mark.django_db


def run(day: str) -> list[dict]:
    out = StringIO()
    call_command("run_dunning", "--org", "abc", "--date", day, "--json", "--no-send", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize(
    "number, mobile",
    [("06 12 34 56 78", True), ("07 81 23 45 67", True), ("07 12 34 56 78", False), ("+33 6 12 34 56 78", True),
     ("01 45 67 89 10", False), ("+33 1 45 67 89 10", False), ("+44 7911 123456", True), ("n/a", False)],
)
def test_it_knows_a_mobile_number(number, mobile):
    assert is_mobile(number) is mobile


def test_channels_come_from_valid_contacts_and_the_address(scenarios, make_customer):
    full = make_customer("C1", phone="06 12 34 56 78", address=True)
    landline = make_customer("C2", phone="01 45 67 89 10")
    bounced = make_customer("C3")
    Contact.objects.filter(customer=bounced).update(valid=False)
    states = load_customers(scenarios, [full.pk, landline.pk, bounced.pk])
    assert states[full.pk].channels == {"email", "sms", "call", "letter"}
    assert states[landline.pk].channels == {"email", "call"}
    assert states[bounced.pk].channels == frozenset()


def test_a_segment_chosen_by_a_person_wins_over_the_score(scenarios, make_customer, make_invoice):
    cust = make_customer("C1", risk_segment_override="high")
    make_invoice(number="F1", cust=cust)
    assert [m["scenario"] for m in run("2026-06-25")] == ["high_risk"]  # J-5 of the high-risk scenario
    cust.refresh_from_db()
    assert cust.risk_segment_override == "high"


def test_an_explicit_scenario_wins_and_an_inactive_one_is_ignored(scenarios, make_customer, make_invoice):
    strategic = Scenario.objects.get(organisation=scenarios, code="strategic")
    cust = make_customer("C1", phone="01 45 67 89 10", scenario=strategic)
    make_invoice(number="F1", cust=cust)
    assert [(m["scenario"], m["channel"]) for m in run("2026-06-25")] == [("strategic", "call")]
    strategic.active = False
    strategic.save()
    assert "strategic" not in get_config(scenarios).scenarios


def test_a_call_outcome_spares_the_customer_the_firm_email(scenarios, make_customer, make_invoice):
    cust = make_customer("C1", phone="01 45 67 89 10")
    inv = make_invoice(number="F1", cust=cust)
    set_schedule(inv, "first", date(2026, 7, 6), date(2026, 7, 13))
    assert [m["step"] for m in run("2026-07-13")] == ["call"]
    task = create_task(cust, "call", "Rappel", invoices=[inv])
    task.outcome = "promise"
    task.done_at = datetime(2026, 7, 15, 11, 0, tzinfo=ZoneInfo("Europe/Paris"))
    task.save()
    assert run("2026-07-17") == []  # no firm e-mail
    assert [m["step"] for m in run("2026-07-20")] == ["sms"]


def test_no_answer_does_not_spare_the_firm_email(scenarios, make_customer, make_invoice):
    cust = make_customer("C1", phone="01 45 67 89 10")
    inv = make_invoice(number="F1", cust=cust)
    set_schedule(inv, "call", date(2026, 7, 13), date(2026, 7, 17))
    task = create_task(cust, "call", "Appel", invoices=[inv])
    task.outcome = "no_answer"
    task.save()
    assert [m["step"] for m in run("2026-07-17")] == ["firm"]


def test_the_invoices_never_scheduled_are_read_through_their_partial_index(org):
    from django.db import connection, transaction

    from relance.dunning.snapshot import unscheduled_sql
    from relance.dunning.snapshot_invoices import ACTIVE_STATUSES
    from relance.ledger.models import Invoice

    index = next(i for i in Invoice._meta.indexes if i.name == "invoice_unscheduled")
    assert dict(index.condition.children)["status__in"] == [s.value for s in ACTIVE_STATUSES]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table: only the index may be chosen
            # On an empty table the (organisation, due_date) and (organisation, issue_date) indexes cost
            # the same, and statistics left by earlier tests tip the choice either way: without them,
            # the partial index must serve the query.
            cursor.execute("DROP INDEX invoice_org_due")
            cursor.execute("DROP INDEX invoice_org_issue")
            cursor.execute("EXPLAIN " + unscheduled_sql(), [org.pk])
            transaction.set_rollback(True)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + unscheduled_sql(), [org.pk])
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "invoice_unscheduled" in plan, plan
