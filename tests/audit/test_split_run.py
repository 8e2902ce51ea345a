"""A run split over two PostgreSQL connections records every reminder it planned, in one chain."""

from __future__ import annotations

import pytest
from django.db import connection

from relance.audit.models import AuditEntry
from relance.audit.verify import verify_org
from relance.dunning.actions import plan_today
from relance.dunning.models import Reminder
from tests.dunning.test_split_run import DAY, _ledger

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections: PostgreSQL only")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_split_run_records_both_halves_in_one_chain(settings):
    org = _ledger("split")
    settings.RELANCE_RUN_SPLIT_FROM = 1
    plan_today(org, DAY)
    reminders = set(Reminder.objects.filter(organisation=org).values_list("pk", flat=True))
    planned = AuditEntry.objects.filter(organisation=org, kind="reminder.planned")
    assert {e.data["reminder"] for e in planned} == reminders and planned.count() == len(reminders)
    assert {e.customer_id % 2 for e in planned} == {0, 1}
    assert verify_org(org).ok


def test_a_single_connection_run_records_every_reminder(db):
    org = _ledger("single")
    plan_today(org, DAY)
    reminders = set(Reminder.objects.filter(organisation=org).values_list("pk", flat=True))
    assert len(reminders) > 30
    planned = AuditEntry.objects.filter(organisation=org, kind="reminder.planned")
    assert {e.data["reminder"] for e in planned} == reminders
    assert verify_org(org).ok
