"""A large run on PostgreSQL writes over two connections (relance.lib.db.SecondConnection):
the same result as one connection, all or nothing, and a second pass that finds nothing new."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection

from relance.accounts.models import Organisation
from relance.dunning import persist
from relance.dunning.actions import plan_today
from relance.dunning.defaults import install_default_scenarios
from relance.dunning.models import DunningRun, InvoiceSchedule, Reminder, ReminderLine, Task
from relance.dunning.run import split_plan
from relance.dunning.state import Advance, DayPlan, InvoiceState, Line, Message, TaskOrder
from relance.ledger.models import Contact, Customer, Invoice
from relance.lib.db import SecondConnection
from tests.schedule_support import set_schedule

DAY = date(2026, 7, 20)  # a Monday
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections: PostgreSQL only")


def _message(customer_id: int, invoice_id: int) -> Message:
    return Message(customer_id, "email", "standard", "first", "structured_reminder", "firm", False, False,
                   (Line(invoice_id, f"F{invoice_id}", "first", Decimal("10.00")),), (), Decimal("10.00"))


def test_the_plan_is_split_by_customer_each_half_whole():
    invoices = [InvoiceState(i, i % 4, f"F{i}", DAY, DAY, Decimal("10.00")) for i in range(12)]
    plan = DayPlan(DAY, broken_promises=[7], instalment_advances=[])
    plan.messages = [_message(i % 4, i) for i in range(12)]
    plan.tasks = [TaskOrder("call", c, (c,)) for c in range(4)]
    plan.advances = [Advance(i, "first", DAY, None, True) for i in range(12)] + [Advance(99, "", None, None)]
    first, second = split_plan(plan, SimpleNamespace(invoices=invoices))
    assert {m.customer_id for m in first.messages} == {0, 2} and {m.customer_id for m in second.messages} == {1, 3}
    assert {t.customer_id for t in first.tasks} == {0, 2} and {t.customer_id for t in second.tasks} == {1, 3}
    assert {a.invoice_id % 4 for a in second.advances} == {1, 3}
    # An invoice of no loaded customer (a stale one) and the promises stay with the first connection.
    assert 99 in {a.invoice_id for a in first.advances}
    assert (first.broken_promises, second.broken_promises) == ([7], [])
    assert len(first.messages) + len(second.messages) == 12
    assert len(first.advances) + len(second.advances) == 13


def _ledger(slug: str) -> Organisation:
    """An organisation whose customers are at every stage: e-mails, calls, SMS, letters, missing contacts."""
    org = Organisation.objects.create(slug=slug, legal_name=f"Org {slug}", city="Lyon")
    install_default_scenarios(org)
    for n in range(16):
        customer = Customer.objects.create(
            organisation=org, external_id=f"C{n:02d}", name=f"Client {n}",
            address_line1="1 rue du Port" if n % 3 == 0 else "", postcode="13002" if n % 3 == 0 else "",
            city="Marseille" if n % 3 == 0 else "",
        )
        if n % 5:
            Contact.objects.create(customer=customer, kind="email", value=f"c{n}@example.fr")
        if n % 2:
            Contact.objects.create(customer=customer, kind="phone", value=f"06 12 34 56 {n:02d}")
        for k, (step, last, due) in enumerate([
            ("", None, date(2026, 7, 23)),  # pre-due e-mail today
            ("pre-due", date(2026, 7, 9), date(2026, 7, 12)),  # J+5 structured e-mail is late: today
            ("first", date(2026, 7, 6), date(2026, 7, 1)),  # J+12 call task
            ("firm", date(2026, 7, 14), date(2026, 6, 29)),  # J+18 SMS (e-mail when no mobile)
            ("sms", date(2026, 7, 1), date(2026, 6, 15)),  # J+30 formal notice, awaiting approval
        ]):
            total = Decimal(500 + 100 * n + k)
            invoice = Invoice.objects.create(
                organisation=org, customer=customer, number=f"F{n:02d}-{k}", issue_date=date(2026, 6, 1),
                due_date=due, total=total, open_balance=total,
            )
            if step:
                set_schedule(invoice, step, last, DAY)
    return org


def _outcome(org: Organisation) -> dict:
    return {
        "reminders": sorted(Reminder.objects.filter(organisation=org).values_list(
            "customer__external_id", "channel", "step_code", "state", "total_due", "fallback_from")),
        "lines": sorted(ReminderLine.objects.filter(reminder__organisation=org).values_list(
            "invoice__number", "step_code", "balance")),
        "tasks": sorted(Task.objects.filter(organisation=org).values_list(
            "customer__external_id", "kind", "channel", "step_code", "reminder__channel")),
        "task_invoices": sorted(Task.invoices.through.objects.filter(task__organisation=org).values_list(
            "task__kind", "invoice__number")),
        "schedules": sorted(InvoiceSchedule.objects.filter(organisation=org).values_list(
            "invoice__number", "last_step", "last_date", "next_date")),
        "scores": sorted(Customer.objects.filter(organisation=org).values_list(
            "external_id", "risk_score", "risk_segment")),
    }


@pytest.fixture
def writers(monkeypatch):
    """The names of the threads that wrote a share of the plan."""
    names: list[str] = []
    write = persist.write_plan

    def spy(*args):
        names.append(threading.current_thread().name)
        return write(*args)

    monkeypatch.setattr(persist, "write_plan", spy)
    return names


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_split_run_writes_what_a_single_connection_writes(settings, writers):
    one, two = _ledger("one"), _ledger("two")
    settings.RELANCE_RUN_SPLIT_FROM = 0  # never split
    single = plan_today(one, DAY)
    assert writers == ["MainThread"]
    settings.RELANCE_RUN_SPLIT_FROM = 1
    split = plan_today(two, DAY)
    assert sorted(writers[1:]) == ["MainThread", "relance-second-connection"]
    assert split.messages == single.messages and split.counts() == single.counts()
    assert single.reminders > 30 and single.tasks > 10 and single.awaiting_approval > 0
    assert _outcome(two) == _outcome(one)
    # Both halves hold what they planned: lines on both parities, schedules moved for both.
    assert {c % 2 for c in Reminder.objects.filter(organisation=two).values_list("customer_id", flat=True)} == {0, 1}
    again = plan_today(two, DAY)
    assert (again.reminders, again.tasks, again.advanced) == (0, 0, 0)
    assert DunningRun.objects.get(organisation=two).passes == 2


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_failure_on_the_second_connection_leaves_nothing_written(settings, monkeypatch):
    org = _ledger("one")
    before = _outcome(org)
    settings.RELANCE_RUN_SPLIT_FROM = 1
    write = persist.write_plan

    def failing(*args):
        if threading.current_thread().name == "relance-second-connection":
            raise RuntimeError("disk full")
        return write(*args)

    monkeypatch.setattr(persist, "write_plan", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        plan_today(org, DAY)
    assert _outcome(org) == before  # no reminder, no schedule moved, no score stored
    assert not DunningRun.objects.exists()
    monkeypatch.setattr(persist, "write_plan", write)
    assert plan_today(org, DAY).reminders > 30  # and the run goes through afterwards


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_second_connection_commits_or_rolls_back_its_own_transaction(org):
    def rename(name):
        Organisation.objects.filter(pk=org.pk).update(legal_name=name)
        return connection.connection is not None and threading.current_thread().name

    with SecondConnection() as second:
        done = second.submit(rename, "Committed")
        assert done.result(timeout=10) == "relance-second-connection"
        org.refresh_from_db()
        assert org.legal_name == "ABC Consulting"  # not visible before the commit
        second.commit()
    org.refresh_from_db()
    assert org.legal_name == "Committed"
    with SecondConnection() as second:
        second.submit(rename, "Rolled back").result(timeout=10)
    org.refresh_from_db()
    assert org.legal_name == "Committed"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_failed_job_fails_the_commit_and_the_jobs_after_it(org):
    def boom():
        raise ValueError("bad row")

    second = SecondConnection()
    failed = second.submit(boom)
    with pytest.raises(ValueError, match="bad row"):
        failed.result(timeout=10)
    later = second.submit(Organisation.objects.count)
    with pytest.raises(Exception, match="stopped"):
        later.result(timeout=10)
    with pytest.raises(ValueError, match="bad row"):
        second.commit()
