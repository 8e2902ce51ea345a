"""Property suites over every importer (customers, invoices, payments; CSV and XLSX).

Each generated file mixes good cells, whose stored value is known in advance, and hostile ones,
which must be refused. Whatever the file: no exception but the importer's own result; a refused
file leaves nothing behind and names exactly the lines of its bad rows; an accepted file stores
exactly what it holds. 1,000 files per suite in CI (CI=true), 100 otherwise.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from relance.ledger.importers import import_file
from relance.ledger.models import Contact, Customer, ImportBatch, Invoice, Payment
from tests.ledger.data import write_xlsx

settings.register_profile(
    "importers",
    max_examples=1000 if os.environ.get("CI") == "true" else 100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)
IMPORTERS = settings.get_profile("importers")
FORMATS = ["csv", "xlsx"]


@dataclass(frozen=True)
class Cell:
    raw: object  # what the file holds
    value: object = None  # what the database must hold, for a good cell
    ok: bool = True


def good(raw: object, value: object) -> Cell:
    return Cell(raw, value, True)


def bad(raw: object) -> Cell:
    return Cell(raw, None, False)


# --- cells --------------------------------------------------------------------------------------------

# Printable text: no controls, no surrogates; "=" first would make openpyxl write a formula.
_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
    lambda t: t.strip() and not t.startswith("="))
_CONTROLS = st.sampled_from(["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f"])


def text_cell(limit: int, fmt: str, hostile: bool) -> st.SearchStrategy[Cell]:
    normal = _TEXT.map(lambda t: good(t, " ".join(t.split())))
    too_long = st.just(bad("x" * (limit + 1)))
    if not hostile:
        return normal
    if fmt == "xlsx":  # XML cannot hold control characters: openpyxl refuses to write them
        return st.one_of(normal, normal, too_long)
    hostile = st.tuples(_TEXT, _CONTROLS, _TEXT).map(lambda t: bad(t[0] + t[1] + t[2]))
    return st.one_of(normal, normal, normal, hostile, too_long)


_LOCAL = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,5})?", fullmatch=True)
_DOMAIN = st.from_regex(r"[a-z]{1,10}\.(fr|com|example)", fullmatch=True)
_ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", _LOCAL, _DOMAIN)


def email_cell(fmt: str, hostile: bool) -> st.SearchStrategy[Cell]:
    if not hostile:
        return st.one_of(_ADDRESS.map(lambda a: good(a, a)), st.just(good("", None)))
    two = st.tuples(_ADDRESS, st.sampled_from([",", ";", " ", ", "]), _ADDRESS).map(lambda t: bad("".join(t)))
    named = _ADDRESS.map(lambda a: bad(f"Dupont <{a}>"))
    comment = _ADDRESS.map(lambda a: bad(a.replace("@", "(x)@", 1)))
    quoted = _ADDRESS.map(lambda a: bad(f'"a,{a}"@x.fr'))
    cells = [_ADDRESS.map(lambda a: good(a, a))] * 4 + [two, named, comment, quoted, st.just(good("", None))]
    if fmt == "csv":
        cells.append(_ADDRESS.map(lambda a: bad(a + "\x00evil@x.fr")))
    return st.one_of(*cells)


_PHONE_DIGITS = st.tuples(st.integers(1, 9), st.lists(st.integers(0, 99), min_size=4, max_size=4))


def phone_cell(hostile: bool) -> st.SearchStrategy[Cell]:
    def national(t):
        first, pairs = t
        return good(f"0{first} " + " ".join(f"{p:02d}" for p in pairs), f"+33{first}" + "".join(f"{p:02d}"
                                                                                              for p in pairs))

    numbers = _PHONE_DIGITS.map(national)
    if not hostile:
        return st.one_of(numbers, st.just(good("", None)))
    listed = st.tuples(numbers, numbers).map(lambda t: bad(f"{t[0].raw};{t[1].raw}"))
    slashed = numbers.map(lambda c: bad(c.raw.replace(" ", "/")))
    lettered = numbers.map(lambda c: bad(c.raw + " poste 12"))
    return st.one_of(numbers, numbers, listed, slashed, lettered, st.just(good("", None)))


_CIVILITIES = {"M.": "M.", "Monsieur": "M.", "Mr": "M.", "Mme": "Mme", "Madame": "Mme", "Mrs": "Mme", "Ms": "Mme"}


def civility_cell(hostile: bool) -> st.SearchStrategy[Cell]:
    known = st.sampled_from(sorted(_CIVILITIES)).map(lambda c: good(c, _CIVILITIES[c]))
    if not hostile:
        return st.one_of(known, st.just(good("", "")))
    other = st.sampled_from(["Mlle", "Dr", "Me", "Sir", "MM."]).map(bad)
    return st.one_of(known, known, other, st.just(good("", "")))


def date_text(day: date, style: int, fmt: str) -> object:
    if fmt == "xlsx" and style == 0:
        return day  # a typed date cell
    return day.strftime("%d/%m/%Y") if style < 2 else day.isoformat()


_DAYS = st.dates(date(2020, 1, 1), date(2026, 6, 30))


def date_cell(fmt: str, hostile: bool) -> st.SearchStrategy[Cell]:
    days = st.builds(lambda d, s: good(date_text(d, s, fmt), d), _DAYS, st.integers(0, 2))
    if not hostile:
        return days
    wrong = st.sampled_from(["31/02/2026", "hier", "2026/03/05", "01/01/1800", "00/01/2026"]).map(bad)
    return st.one_of(days, days, days, wrong)


def money_text(amount: Decimal, style: int) -> str:
    """An amount written as French and English exports write it (a space may be no-break)."""
    negative, amount = amount < 0, abs(amount)
    units, cents = divmod(int(amount * 100), 100)
    plain = str(units)
    groups = f"{units:,}"
    text = [
        f"{plain}.{cents:02d}", f"{plain},{cents:02d}", f"{groups.replace(',', ' ')},{cents:02d}",
        f"{groups.replace(',', chr(0xA0))},{cents:02d}", f"{groups.replace(',', chr(0x202F))},{cents:02d} €",
        f"{groups.replace(',', '.')},{cents:02d}", f"{groups}.{cents:02d}", f"{plain},{cents:02d}€",
    ][style]
    return "-" + text if negative else text


_AMOUNTS = st.decimals(Decimal("0"), Decimal("999999999.99"), places=2)
_MALFORMED = st.sampled_from(["1.2.3,4", "5 5", "12,345", "1e5", "NaN", "abc", "1,2,3", "12 34,00", "--5", "€5"])


def money_cell(fmt: str, hostile: bool, amounts: st.SearchStrategy[Decimal] = _AMOUNTS) -> st.SearchStrategy[Cell]:
    written = st.builds(lambda a, s: good(money_text(a, s), a), amounts, st.integers(0, 7))
    cells = [written, written, written] + ([_MALFORMED.map(bad)] if hostile else [])
    if fmt == "xlsx":
        cells.append(amounts.map(lambda a: good(float(a), a)))  # a typed number cell
    return st.one_of(*cells)


# --- files --------------------------------------------------------------------------------------------

def write_file(directory: Path, fmt: str, header: list[str], rows: list[list[Cell]]) -> Path:
    if fmt == "xlsx":
        return write_xlsx(directory, "file.xlsx", [header] + [[c.raw for c in row] for row in rows])
    path = directory / "file.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(header)
        writer.writerows([[c.raw for c in row] for row in rows])
    return path


@contextmanager
def rolled_back() -> Iterator[None]:
    """Each example starts from the same database: its writes are undone when it ends."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def check(org, kind: str, path: Path, rows: list[list[Cell]], counted: dict) -> bool:
    """Import; assert the refusal or the acceptance the cells call for. True when accepted."""
    before = {model: model.objects.count() for model in counted}
    result = import_file(org, kind, path)  # any exception fails the test
    bad_lines = {line for line, row in enumerate(rows, start=2) if not all(c.ok for c in row)}
    for problem in result.errors:
        assert problem.field and problem.message, problem
    event("refused" if bad_lines else "accepted")
    if bad_lines:
        assert {p.line for p in result.errors} == bad_lines, (result.errors, bad_lines)
        assert (result.created, result.updated) == (0, 0)
        assert {model: model.objects.count() for model in counted} == before
        assert not ImportBatch.objects.exists()
        return False
    assert result.ok, result.errors
    assert result.created == len(rows)
    for model, expected in counted.items():
        assert model.objects.count() == before[model] + expected(rows)
    return True


# --- customers ----------------------------------------------------------------------------------------

CUSTOMER_HEADER = ["Code client", "Raison sociale", "E-mail", "Téléphone", "Contact", "Civilité",
                   "Procédure collective", "Date du jugement"]


def insolvency_cells(fmt: str, hostile: bool) -> st.SearchStrategy[tuple[Cell, Cell]]:
    today = timezone.localdate()
    judged = st.builds(lambda d, s: (good("oui", True), good(date_text(d, s, fmt), d)), _DAYS, st.integers(0, 2))
    future = st.integers(1, 900).map(lambda n: (good("oui", True), bad((today + timedelta(days=n)).isoformat())))
    undated = st.just((good("oui", True), bad("")))
    dated_solvent = _DAYS.map(lambda d: (good("non", False), bad(d.isoformat())))
    solvent = st.sampled_from(["", "non", "no", "0"]).map(lambda f: (good(f, False), good("", None)))
    if not hostile:
        return st.one_of(solvent, judged)
    return st.one_of(solvent, solvent, judged, future, undated, dated_solvent)


@st.composite
def customer_rows(draw, fmt: str) -> list[list[Cell]]:
    rows, hostile = [], draw(st.booleans())  # half the files hold only good cells
    for i in range(draw(st.integers(1, 6))):
        flag, judged = draw(insolvency_cells(fmt, hostile))
        rows.append([good(f"C{i}", f"C{i}"), draw(text_cell(200, fmt, hostile)), draw(email_cell(fmt, hostile)),
                     draw(phone_cell(hostile)), draw(st.one_of(text_cell(200, fmt, hostile), st.just(good("", "")))),
                     draw(civility_cell(hostile)), flag, judged])
    return rows


@pytest.mark.parametrize("fmt", FORMATS)
@IMPORTERS
@given(data=st.data())
def test_any_customer_file_is_refused_with_its_lines_or_stored_as_read(org, tmp_path, fmt, data):
    rows = data.draw(customer_rows(fmt))
    path = write_file(tmp_path, fmt, CUSTOMER_HEADER, rows)
    with rolled_back():
        contacts = lambda rows: sum(1 for row in rows for c in row[2:4] if c.value)  # noqa: E731
        if not check(org, "customers", path, rows, {Customer: len, Contact: contacts}):
            return
        for code, name, email, phone, contact, civility, flag, judged in rows:
            c = Customer.objects.get(organisation=org, external_id=code.value)
            assert (c.name, c.contact_name, c.contact_civility) == (name.value, contact.value, civility.value)
            assert (c.in_insolvency, c.insolvency_date) == (flag.value, judged.value)
            stored = {(k, v) for k, v in c.contacts.values_list("kind", "value")}
            assert stored == {(k, cell.value) for k, cell in (("email", email), ("phone", phone)) if cell.value}


# --- invoices -----------------------------------------------------------------------------------------

INVOICE_HEADER = ["Numéro de facture", "Client", "Nom client", "Date de facture", "Date d'échéance", "Montant HT",
                  "TVA", "Montant TTC", "Déjà payé"]
_HUGE = st.decimals(Decimal("600000000000"), Decimal("999999999999.99"), places=2)


@st.composite
def invoice_amounts(draw, fmt: str, hostile: bool) -> tuple[Cell, Cell, Cell, Cell, Decimal]:
    """HT, TVA, TTC and paid cells, and the total the file means (when they are good)."""
    form = draw(st.integers(0, 4 if hostile else 3))
    if form == 4:  # HT + TVA beyond the 14 digits of the money columns: refused, not overflowing
        ht, tax = draw(money_cell(fmt, hostile, _HUGE)), draw(money_cell(fmt, hostile, _HUGE))
        total = ht.value + tax.value if ht.ok and tax.ok else Decimal(0)
        return ht, tax, good("", None), good("", None), total
    ht, tax = draw(money_cell(fmt, hostile)), draw(money_cell(fmt, hostile))
    if not (ht.ok and tax.ok):
        return ht, tax, good("", None), good("", None), Decimal(0)
    total = ht.value + tax.value
    if form == 0:  # TTC derived
        ttc = good("", total)
    elif form == 1:  # all three, agreeing
        ttc = good(money_text(total, draw(st.integers(0, 7))), total)
    elif form == 2 and hostile:  # all three, not agreeing
        ttc = bad(money_text(total + Decimal("0.01"), 0))
    else:  # TTC only
        ttc, ht, tax = good(money_text(total, 1), total), good("", None), good("", None)
    paid = draw(st.one_of(st.just(good("", None)), st.decimals(Decimal(0), total, places=2).map(
        lambda p: good(money_text(p, 1), p)), st.just(bad(money_text(total + 1, 1)) if hostile else good("", None))))
    if form == 4 or not ttc.ok:
        paid = good("", None)
    return ht, tax, ttc, paid, total


@st.composite
def invoice_rows(draw, fmt: str) -> list[list[Cell]]:
    rows, hostile = [], draw(st.booleans())  # half the files hold only good cells
    for i in range(draw(st.integers(1, 6))):
        issue = draw(date_cell(fmt, hostile))
        due = draw(date_cell(fmt, hostile))
        if issue.ok and due.ok and due.value < issue.value:
            due = bad(due.raw) if hostile else good(issue.raw, issue.value)  # before the invoice date: refused
        ht, tax, ttc, paid, total = draw(invoice_amounts(fmt, hostile))
        if ht.ok and tax.ok and not ttc.raw and total >= Decimal("1000000000000"):
            ttc = bad("")  # the derived total cannot be stored: refused on the TTC column
        rows.append([good(f"F{i}", f"F{i}"), good("C1", "C1"), draw(text_cell(200, fmt, hostile)), issue, due, ht,
                     tax, ttc, paid])
    return rows


@pytest.mark.parametrize("fmt", FORMATS)
@IMPORTERS
@given(data=st.data())
def test_any_invoice_file_is_refused_with_its_lines_or_stored_as_read(org, tmp_path, fmt, data):
    rows = data.draw(invoice_rows(fmt))
    path = write_file(tmp_path, fmt, INVOICE_HEADER, rows)
    with rolled_back():
        if not check(org, "invoices", path, rows, {Invoice: len, Customer: lambda rows: 1}):
            return
        customer = Customer.objects.get(organisation=org, external_id="C1")
        assert customer.name == rows[0][2].value  # created from the first row naming it
        for number, _, _, issue, due, ht, tax, ttc, paid in rows:
            inv = Invoice.objects.get(organisation=org, number=number.value)
            total = ttc.value if ttc.value is not None else ht.value + tax.value
            assert (inv.customer_id, inv.issue_date, inv.due_date, inv.total) == (customer.pk, issue.value,
                                                                                 due.value, total)
            if ht.value is not None:
                assert (inv.amount_excl_tax, inv.tax) == (ht.value, tax.value)
            assert inv.open_balance == total - (paid.value or 0)


# --- payments -----------------------------------------------------------------------------------------

PAYMENT_HEADER = ["Date", "Montant", "Client", "Référence", "Mode de paiement", "Code paiement"]
_METHODS = {"virement": "transfer", "Prélèvement": "direct_debit", "CB": "card", "chèque": "cheque",
            "espèces": "cash", "": "transfer"}


@st.composite
def payment_rows(draw, fmt: str) -> list[list[Cell]]:
    rows, hostile = [], draw(st.booleans())  # half the files hold only good cells
    for i in range(draw(st.integers(1, 6))):
        amount = draw(money_cell(fmt, hostile, _AMOUNTS.filter(lambda a: a > 0 or hostile)))
        if amount.ok and amount.value <= 0:
            amount = bad(amount.raw)  # a payment is positive
        customers = [good("C001", "C001"), good("", None)] + ([bad("C404")] if hostile else [])
        methods = [st.sampled_from(sorted(_METHODS)).map(lambda m: good(m, _METHODS[m]))]
        method = draw(st.one_of(*methods, *([st.just(bad("bitcoin"))] if hostile else [])))
        reference = draw(st.one_of(text_cell(200, fmt, hostile), st.just(good("", ""))))
        rows.append([draw(date_cell(fmt, hostile)), amount, draw(st.sampled_from(customers)), reference, method,
                     good(f"P{i}", f"P{i}")])
    return rows


@pytest.mark.parametrize("fmt", FORMATS)
@IMPORTERS
@given(data=st.data())
def test_any_payment_file_is_refused_with_its_lines_or_stored_as_read(org, customer, tmp_path, fmt, data):
    rows = data.draw(payment_rows(fmt))
    path = write_file(tmp_path, fmt, PAYMENT_HEADER, rows)
    with rolled_back():
        if not check(org, "payments", path, rows, {Payment: len}):
            return
        for day, amount, code, reference, method, external in rows:
            p = Payment.objects.get(organisation=org, external_id=external.value)
            assert (p.date, p.amount, p.reference, p.method) == (day.value, amount.value, reference.value,
                                                                 method.value)
            assert p.customer_id == (customer.pk if code.value else None)
