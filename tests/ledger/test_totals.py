"""The ledger's running totals (relance.ledger.totals) stay equal to a sum of the invoices after every
kind of write: payments, credit notes, disputes, imports small and large, single saves, moving days."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from relance.dunning import actions
from relance.ledger import balances, totals
from relance.ledger.importers import import_file
from relance.ledger.models import Customer, DayTotals, Invoice, Payment, TotalsDate
from relance.ledger.queries import OPEN_STATUSES
from tests.ledger.data import write_csv

TODAY = date(2026, 7, 15)
HEADER = "Numéro de facture;Code client;Raison sociale;Date de facture;Date d'échéance;Montant TTC;Déjà payé\n"


def expected(org, as_of: date) -> tuple[dict, dict]:
    """The totals summed from the invoices, the slow way."""
    days: dict[date, list] = {}
    customers: dict[int, list] = {c.pk: [Decimal("0"), 0, Decimal("0"), 0, None, 0]
                                  for c in Customer.objects.filter(organisation=org)}
    for inv in Invoice.objects.filter(organisation=org):
        if inv.status != "cancelled":
            days.setdefault(inv.issue_date, [Decimal("0"), 0, Decimal("0")])[2] += inv.total
        if inv.status in OPEN_STATUSES and inv.open_balance > 0:
            row = days.setdefault(inv.due_date, [Decimal("0"), 0, Decimal("0")])
            row[0] += inv.open_balance
            row[1] += 1
            c = customers[inv.customer_id]
            c[0] += inv.open_balance
            c[1] += 1
            if inv.due_date < as_of:
                c[2] += inv.open_balance
                c[3] += 1
                c[4] = min(c[4] or inv.due_date, inv.due_date)
            c[5] += inv.status == "disputed"
    days = {d: v for d, v in days.items() if any(v)}
    return days, customers


def kept(org) -> tuple[dict, dict]:
    days = {r.day: [r.due_open_amount, r.due_open_count, r.invoiced_amount]
            for r in DayTotals.objects.filter(organisation=org) if r.due_open_amount or r.due_open_count
            or r.invoiced_amount}
    customers = {c.pk: [c.open_amount, c.open_count, c.overdue_amount, c.overdue_count, c.overdue_since,
                        c.disputed_count] for c in Customer.objects.filter(organisation=org)}
    return days, customers


def assert_true(org, as_of: date = TODAY) -> None:
    assert TotalsDate.objects.get(organisation=org).as_of == as_of
    assert kept(org) == expected(org, as_of)


@pytest.fixture
def ledger(org, customer, make_invoice):
    other = Customer.objects.create(organisation=org, external_id="C002", name="Martin SA")
    invoices = [
        make_invoice("1200.00", due=date(2026, 6, 30)),
        make_invoice("600.00", due=date(2026, 7, 20)),
        make_invoice("99.99", due=date(2026, 3, 1), cust=other),
        make_invoice("350.00", due=date(2026, 7, 15), cust=other),
    ]
    totals.bring_to(org, TODAY)  # the first read builds them
    return invoices


def test_the_first_read_builds_them(org, ledger):
    assert_true(org)
    dupont = Customer.objects.get(external_id="C001")
    assert (dupont.open_amount, dupont.overdue_amount, dupont.overdue_since) == (
        Decimal("1800.00"), Decimal("1200.00"), date(2026, 6, 30))


def test_payments_partial_and_full_then_deleted(org, ledger, alice):
    f1, f2, f3, _ = ledger
    payment = balances.record_payment(Payment(organisation=org, customer=f1.customer, date=TODAY,
                                              amount=Decimal("1500.00")), user=alice)
    balances.allocate(f1, Decimal("1200.00"), payment=payment, user=alice)
    balances.allocate(f2, Decimal("300.00"), payment=payment, user=alice)
    assert_true(org)
    balances.set_external_paid(f3, Decimal("99.99"))
    assert_true(org)
    balances.delete_payment(payment, user=alice)
    assert_true(org)


def test_disputes_count_and_stay_open(org, ledger, alice):
    f1 = ledger[0]
    actions.open_dispute(f1, "livraison incomplète", user=alice)
    assert_true(org)
    assert Customer.objects.get(pk=f1.customer_id).disputed_count == 1
    actions.close_dispute(f1, "avoir émis", user=alice)
    assert_true(org)


def test_a_single_save_is_followed(org, ledger, make_invoice):
    make_invoice("10.00", due=date(2026, 1, 1))
    f2 = ledger[1]
    f2.due_date = date(2026, 5, 1)  # moved into the overdue part, under another day
    f2.save()
    assert_true(org)


def test_moving_the_day_recomputes_the_customers_falling_due(org, ledger):
    totals.bring_to(org, date(2026, 7, 21))
    assert_true(org, date(2026, 7, 21))
    totals.bring_to(org, date(2026, 6, 1))  # backwards too
    assert_true(org, date(2026, 6, 1))
    totals.bring_to(org, date(2027, 7, 1))  # far: everything rebuilt
    assert_true(org, date(2027, 7, 1))


def test_small_imports_add_update_and_pay(org, ledger, tmp_path):
    rows = ("N1;C001;Dupont SARL;01/06/2026;01/07/2026;100,00;\n"
            "N2;C009;Nouveau SAS;01/06/2026;30/07/2026;250,00;50,00\n")
    assert import_file(org, "invoices", write_csv(tmp_path, "f.csv", HEADER + rows)).ok
    assert_true(org)
    # The same invoices again, due later and partly paid, and one moved to another customer.
    rows = ("N1;C002;Martin SA;01/06/2026;01/08/2026;100,00;40,00\n"
            "N2;C009;Nouveau SAS;01/06/2026;30/06/2026;250,00;250,00\n")
    result = import_file(org, "invoices", write_csv(tmp_path, "g.csv", HEADER + rows))
    assert result.ok and result.updated == 2
    assert_true(org)
    payments = "Date;Montant;Facture\n15/07/2026;60,00;N1\n"
    assert import_file(org, "payments", write_csv(tmp_path, "p.csv", payments)).ok
    assert_true(org)


def test_a_large_import_rebuilds_them_once(org, ledger, tmp_path, monkeypatch):
    from relance.ledger import importers

    monkeypatch.setattr(importers, "BIG_IMPORT_BYTES", 100)  # this file counts as large
    rows = "".join(f"L{i};C{i % 7};Client {i % 7};01/05/2026;{1 + i % 28:02d}/07/2026;{i},50;\n"
                   for i in range(1, 300))
    assert import_file(org, "invoices", write_csv(tmp_path, "big.csv", HEADER + rows)).ok
    assert_true(org)


def test_an_organisation_without_totals_is_left_alone(org, customer, make_invoice):
    make_invoice("10.00")
    assert not TotalsDate.objects.filter(organisation=org).exists()
    assert not DayTotals.objects.filter(organisation=org).exists()


def test_the_daily_run_moves_them_to_its_day(org, ledger):
    from relance.dunning.defaults import install_default_scenarios
    from relance.dunning.run import plan_today

    install_default_scenarios(org)
    plan_today(org, TODAY + timedelta(days=3))
    assert_true(org, TODAY + timedelta(days=3))
