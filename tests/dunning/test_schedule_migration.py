"""Migrations dunning 0006 / ledger 0004-0005: the invoices' dunning state moves from the invoice
table to dunning_invoiceschedule, and nothing is lost on the way (both ways)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("dunning", "0005_drop_old_unplanned_index"), ("ledger", "0003_invoice_unplanned_index")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] in ("dunning", "ledger")]


@pytest.mark.django_db(transaction=True)
def test_the_dunning_state_moves_to_its_own_table_and_back():
    latest = _latest()
    try:
        apps = _migrate(BEFORE)
        org = apps.get_model("accounts", "Organisation").objects.create(slug="abc", legal_name="ABC")
        customer = apps.get_model("ledger", "Customer").objects.create(organisation=org, external_id="C1", name="C")
        Invoice = apps.get_model("ledger", "Invoice")

        def invoice(number, **state):
            return Invoice.objects.create(
                organisation=org, customer=customer, number=number, issue_date=date(2026, 6, 1),
                due_date=date(2026, 7, 1), total=Decimal("100"), open_balance=Decimal("100"), **state,
            )

        invoice("REMINDED", dunning_last_step="first", dunning_last_date=date(2026, 7, 6),
                dunning_next_date=date(2026, 7, 13))
        invoice("PLANNED", dunning_next_date=date(2026, 6, 28))
        invoice("DONE", dunning_last_step="formal", dunning_last_date=date(2026, 8, 1))
        invoice("NEW")

        apps = _migrate(latest)
        Schedule = apps.get_model("dunning", "InvoiceSchedule")
        assert sorted(Schedule.objects.values_list("invoice__number", "last_step", "last_date", "next_date")) == [
            ("DONE", "formal", date(2026, 8, 1), None),
            ("PLANNED", "", None, date(2026, 6, 28)),
            ("REMINDED", "first", date(2026, 7, 6), date(2026, 7, 13)),
        ]
        flags = dict(apps.get_model("ledger", "Invoice").objects.values_list("number", "dunning_scheduled"))
        assert flags == {"REMINDED": True, "PLANNED": True, "DONE": True, "NEW": False}

        apps = _migrate(BEFORE)
        back = apps.get_model("ledger", "Invoice").objects.order_by("number").values_list(
            "number", "dunning_last_step", "dunning_last_date", "dunning_next_date")
        assert list(back) == [
            ("DONE", "formal", date(2026, 8, 1), None),
            ("NEW", "", None, None),
            ("PLANNED", "", None, date(2026, 6, 28)),
            ("REMINDED", "first", date(2026, 7, 6), date(2026, 7, 13)),
        ]
    finally:
        _migrate(latest)
