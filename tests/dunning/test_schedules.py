"""write_schedules: the invoices' dunning state in InvoiceSchedule, and Invoice.dunning_scheduled."""

from __future__ import annotations

from datetime import date

import pytest

from relance.dunning.persist import write_schedules
from relance.dunning.snapshot import list_candidate_invoices
from relance.dunning.state import Advance
from tests.schedule_support import schedule_of

pytestmark = pytest.mark.django_db


def flag(inv) -> bool:
    inv.refresh_from_db()
    return inv.dunning_scheduled


def test_a_step_done_stores_the_whole_state_and_marks_the_invoice(org, make_invoice):
    inv = make_invoice()
    write_schedules(org.pk, [Advance(inv.pk, "first", date(2026, 7, 6), date(2026, 7, 13), True)])
    assert schedule_of(inv) == ("first", date(2026, 7, 6), date(2026, 7, 13)) and flag(inv)


def test_a_next_date_alone_keeps_the_history(org, make_invoice):
    inv = make_invoice()
    write_schedules(org.pk, [Advance(inv.pk, "first", date(2026, 7, 6), date(2026, 7, 13), True)])
    write_schedules(org.pk, [Advance(inv.pk, "", None, date(2026, 7, 20))])
    assert schedule_of(inv) == ("first", date(2026, 7, 6), date(2026, 7, 20))


def test_clearing_keeps_a_reminded_invoice_and_drops_a_never_reminded_one(org, make_invoice):
    reminded, planned = make_invoice(), make_invoice()
    write_schedules(org.pk, [Advance(reminded.pk, "first", date(2026, 7, 6), date(2026, 7, 13), True),
                             Advance(planned.pk, "", None, date(2026, 6, 27))])
    write_schedules(org.pk, [Advance(reminded.pk, "", None, None), Advance(planned.pk, "", None, None)])
    assert schedule_of(reminded) == ("first", date(2026, 7, 6), None) and flag(reminded)
    # Back among the invoices never scheduled: examined again by the next run.
    assert schedule_of(planned) == ("", None, None) and not flag(planned)
    assert list_candidate_invoices(org, date(2026, 6, 27)).fresh == {planned.pk}


def test_only_the_invoices_named_unscheduled_are_marked(org, make_invoice):
    a, b = make_invoice(), make_invoice()
    write_schedules(org.pk, [Advance(a.pk, "", None, date(2026, 6, 27)), Advance(b.pk, "", None, date(2026, 6, 27))],
                    unscheduled={a.pk})
    assert flag(a) and not flag(b)


def test_the_last_advance_of_an_invoice_wins(org, make_invoice):
    inv = make_invoice()
    write_schedules(org.pk, [Advance(inv.pk, "", None, date(2026, 6, 27)), Advance(inv.pk, "", None, date(2026, 7, 1))])
    assert schedule_of(inv) == ("", None, date(2026, 7, 1))


def test_on_postgresql_customer_pages_keep_room_for_the_scores():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("fillfactor: PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'ledger_customer'")
        assert cursor.fetchone()[0] == ["fillfactor=80"]
