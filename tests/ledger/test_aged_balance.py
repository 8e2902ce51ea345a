"""The aged balance at past dates (relance.reports.aged) and `relance aged-balance` in every format,
on a ledger checked by hand:

- F1 Dupont 1,000.00 issued 1 Sept 2026, due 1 Oct; 400.00 paid 15 Nov, 600.00 paid 2 Dec.
- F2 Dupont   500.00 issued 20 Nov, due 20 Dec; a credit note of 200.00 dated 25 Nov.
- F3 Martin   300.00 issued 1 June, due 1 July; 100.00 "réglé hors Relance", imported 10 Nov.
  (A payment after the date, then: F1 paid 600.00 on 2 Dec counts back into 30 Nov.)
- F4 Martin   250.00 issued 10 Dec, due 9 Jan 2027.
- F5 Martin   999.00 cancelled: nowhere.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from openpyxl import load_workbook
from pypdf import PdfReader

from relance.ledger import balances
from relance.ledger.models import Allocation, CreditNote, Customer, Invoice, Payment
from relance.ledger.queries import get_aged_balance as todays_aged_balance
from relance.reports.aged import as_json, get_aged_balance

D = Decimal
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def ledger(org, other_org, customer, make_invoice):
    martin = Customer.objects.create(organisation=org, external_id="C002", name="Martin SA")
    with time_machine.travel(datetime(2026, 12, 14, 10, tzinfo=PARIS), tick=False):
        f1 = make_invoice("1000.00", issue=date(2026, 9, 1), due=date(2026, 10, 1))
        f2 = make_invoice("500.00", issue=date(2026, 11, 20), due=date(2026, 12, 20))
        f3 = make_invoice("300.00", issue=date(2026, 6, 1), due=date(2026, 7, 1), cust=martin)
        make_invoice("250.00", issue=date(2026, 12, 10), due=date(2027, 1, 9), cust=martin)
        f5 = make_invoice("999.00", issue=date(2026, 6, 1), due=date(2026, 7, 1), cust=martin)
        Invoice.objects.filter(pk=f5.pk).update(status="cancelled")
        for amount, day in (("400.00", date(2026, 11, 15)), ("600.00", date(2026, 12, 2))):
            payment = balances.record_payment(Payment(organisation=org, customer=customer, date=day, amount=D(amount)))
            balances.allocate(f1, D(amount), payment=payment)
        note = CreditNote.objects.create(organisation=org, customer=customer, number="AV1", date=date(2026, 11, 25),
                                         total=D("200.00"), invoice=f2)
        balances.allocate(f2, D("200.00"), credit_note=note)
        balances.set_external_paid(f3, D("100.00"))
    # F3 and its outside settlement came in with the import of 10 November, late in the evening in Paris.
    imported = datetime(2026, 11, 10, 23, 30, tzinfo=PARIS)
    Invoice.objects.filter(pk=f3.pk).update(created_at=imported)
    Allocation.objects.filter(invoice=f3).update(created_at=imported)
    # Another organisation's invoice counts nowhere here.
    stranger = Customer.objects.create(organisation=other_org, external_id="C001", name="Autre")
    Invoice.objects.create(organisation=other_org, customer=stranger, number="Z1", issue_date=date(2026, 6, 1),
                           due_date=date(2026, 7, 1), total=D("777.00"), open_balance=D("777.00"))
    return martin


def figures(as_of: date, org) -> dict:
    aged = get_aged_balance(org, as_of)
    return {c.external_id: {k: v for k, v in c.buckets.items() if v} for c in aged.customers}


def test_before_the_later_payments_credit_note_and_invoices(org, ledger):
    # 31 Oct: F1 30 days late, unpaid; F2 and F4 not issued; F3 122 days late, not yet imported.
    assert figures(date(2026, 10, 31), org) == {"C001": {"1-30": D("1000.00")}, "C002": {"120+": D("300.00")}}


def test_the_outside_settlement_counts_from_the_invoices_import_in_the_organisations_day(org, ledger):
    assert figures(date(2026, 11, 9), org)["C002"] == {"120+": D("300.00")}
    assert figures(date(2026, 11, 10), org)["C002"] == {"120+": D("200.00")}


def test_at_the_end_of_november_the_payment_and_credit_note_are_deducted(org, ledger):
    aged = get_aged_balance(org, date(2026, 11, 30))
    assert figures(date(2026, 11, 30), org) == {
        "C001": {"31-60": D("600.00"), "not_due": D("300.00")},  # F1 60 days late; F2 500 − 200
        "C002": {"120+": D("200.00")},
    }
    assert aged.total == D("1100.00")
    assert aged.overdue == D("800.00")


def test_after_the_last_payment_and_the_new_invoice(org, ledger):
    assert figures(date(2026, 12, 15), org) == {
        "C001": {"not_due": D("300.00")},
        "C002": {"120+": D("200.00"), "not_due": D("250.00")},
    }


def test_on_the_due_date_an_invoice_is_not_due_and_the_day_after_it_is_1_to_30(org, ledger):
    assert figures(date(2026, 10, 1), org)["C001"] == {"not_due": D("1000.00")}
    assert figures(date(2026, 10, 2), org)["C001"] == {"1-30": D("1000.00")}
    assert figures(date(2026, 11, 1), org)["C001"] == {"31-60": D("1000.00")}  # 31 days


def test_today_it_agrees_with_the_open_balances(org, ledger):
    today = date(2026, 12, 15)
    assert get_aged_balance(org, today).total == todays_aged_balance(org, today)["total"] == D("750.00")


def test_the_json_has_exactly_the_documented_keys_and_amounts_as_strings(org, ledger):
    data = as_json(get_aged_balance(org, date(2026, 11, 30)))
    assert list(data) == ["as_of", "total", "buckets", "customers"]
    assert data["as_of"] == "2026-11-30"
    assert data["total"] == "1100.00"
    assert data["buckets"] == {"not_due": "300.00", "1-30": "0.00", "31-60": "600.00", "61-90": "0.00",
                               "91-120": "0.00", "120+": "200.00"}
    assert data["customers"][0] == {
        "customer": "C001", "name": "Dupont SARL", "total": "900.00",
        "buckets": {"not_due": "300.00", "1-30": "0.00", "31-60": "600.00", "61-90": "0.00", "91-120": "0.00",
                    "120+": "0.00"},
    }
    assert [c["customer"] for c in data["customers"]] == ["C001", "C002"]


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("aged_balance", "--org", "abc", *args, stdout=out)
    return out.getvalue()


def test_the_command_writes_json_on_a_past_date(org, ledger):
    data = json.loads(command("--as-of", "2026-11-30"))
    assert data["total"] == "1100.00" and data["as_of"] == "2026-11-30"


def test_the_command_writes_csv(org, ledger):
    rows = list(csv.reader(io.StringIO(command("--as-of", "2026-11-30", "--format", "csv"))))
    assert rows[0][:3] == ["Code client", "Client", "Total"]
    assert rows[1] == ["C001", "Dupont SARL", "900.00", "300.00", "0.00", "600.00", "0.00", "0.00", "0.00"]
    assert rows[-1][1:3] == ["Total", "1100.00"]


def test_the_command_writes_xlsx_with_numbers_in_euros(org, ledger, tmp_path):
    out = tmp_path / "aged.xlsx"
    command("--as-of", "2026-11-30", "--format", "xlsx", "--out", str(out))
    sheet = load_workbook(out).active
    assert sheet["A2"].value == "C001"
    assert sheet["C2"].value == 900 and isinstance(sheet["C2"].value, (int, float))
    assert "€" in sheet["C2"].number_format
    assert sheet["C4"].value == 1100


def test_the_command_writes_a_pdf(org, ledger, tmp_path):
    out = tmp_path / "aged.pdf"
    command("--as-of", "2026-11-30", "--format", "pdf", "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Dupont SARL" in text and "Martin SA" in text
    assert "1 100,00" in text.replace("\u202f", " ").replace("\u00a0", " ")


def test_binary_formats_need_a_file_and_a_bad_date_is_named(org, ledger):
    with pytest.raises(CommandError, match="--out"):
        command("--format", "pdf")
    with pytest.raises(CommandError, match="--as-of"):
        command("--as-of", "30/13/2026")
