"""Two workers started at once never send the same reminder (threads, each with its own connection)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections

from relance.channels.delivery import claim_one, deliver_pending
from relance.dunning.models import Reminder, ReminderLine
from relance.ledger.models import Invoice

NOW = datetime(2026, 7, 10, 8, 0, tzinfo=UTC)
WORKERS = 4

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor == "sqlite",
                       reason="SQLite's in-memory test database serialises threads; PostgreSQL shows the race"),
]


def _reminders(org, customer, count: int) -> list[int]:
    invoices = Invoice.objects.bulk_create(
        Invoice(organisation=org, customer=customer, number=f"C{i:04d}", issue_date=date(2026, 5, 31),
                due_date=date(2026, 6, 30), total=Decimal("100"), open_balance=Decimal("100")) for i in range(count))
    reminders = Reminder.objects.bulk_create(
        Reminder(organisation=org, customer=customer, channel="email", run_date=date(2026, 7, 10) - timedelta(days=i),
                 scenario_code="standard", step_code="first", template="first_reminder") for i in range(count))
    ReminderLine.objects.bulk_create(
        ReminderLine(reminder=r, invoice=inv, step_code="first", balance=inv.total)
        for r, inv in zip(reminders, invoices, strict=True))
    return [r.pk for r in reminders]


def _in_threads(work) -> list:
    barrier = threading.Barrier(WORKERS)
    results: list = [None] * WORKERS
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_concurrent_claims_share_the_reminders_without_overlap(org, customer):
    ids = _reminders(org, customer, 300)
    def claim_all() -> list[int]:
        mine = []
        while (reminder := claim_one(now=NOW)) is not None:
            mine.append(reminder.pk)
        return mine

    claims = _in_threads(claim_all)
    claimed = [pk for claim in claims for pk in claim]
    assert len(claimed) == len(set(claimed)) == len(ids)
    assert sorted(claimed) == sorted(ids)


def test_concurrent_workers_send_each_reminder_exactly_once(org, customer, tmp_path):
    from relance.channels.models import OrganisationChannelSettings

    org.email_url = f"file://{tmp_path}"
    org.save()
    # Every reminder lists the 59 others as overdue: no statement PDF, or WeasyPrint dominates the test.
    OrganisationChannelSettings.objects.create(organisation=org, attach_statement="never")
    ids = _reminders(org, customer, 60)
    stats = _in_threads(lambda: deliver_pending(now=NOW))
    assert sum(s.sent for s in stats) == len(ids)
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == len(ids)
    stored = set(Reminder.objects.filter(pk__in=ids, state="sent").values_list("provider_id", flat=True))
    assert stored == {f.name for f in files}
