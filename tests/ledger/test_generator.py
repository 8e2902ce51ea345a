"""The ledger generator (relance.ledger.generator) and `relance generate`."""

from __future__ import annotations

import csv
import hashlib
import statistics
import tracemalloc
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import phonenumbers
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.validators import validate_email
from stdnum.fr import siren

from relance.ledger.generator import (
    BEHAVIOURS,
    CUSTOMERS_HEADER,
    INVOICES_HEADER,
    PAYMENTS_HEADER,
    LedgerGenerator,
    add_months,
    write_ledger_csv,
)

TODAY = date(2025, 6, 15)
# gen(customers=50, invoices=400, seed=5) written by the generator before the contact columns existed.
CUSTOMERS_BEFORE = "f0bddf7f5ca7269a"  # the customers file's first 12 columns
OTHERS_BEFORE = {"invoices": "f3e58fa3cea01372", "payments": "48f5156cfc36e7ab"}


def gen(customers=300, invoices=6000, seed=1, today=TODAY, months=18) -> LedgerGenerator:
    return LedgerGenerator(seed=seed, customers=customers, invoices=invoices, today=today, months=months)


def digest(folder) -> dict[str, str]:
    return {n: hashlib.sha256((folder / f"{n}.csv").read_bytes()).hexdigest() for n in ("customers", "invoices",
                                                                                        "payments")}


def read(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def day(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    """The demo's size, written once for the tests that only read it."""
    out = tmp_path_factory.mktemp("ledger")
    written = write_ledger_csv(gen(), out)
    return out, written


@pytest.fixture(scope="module")
def rows():
    g = gen()
    customers = list(g.customers())
    return customers, list(g.invoices())


def test_the_same_seed_and_day_give_byte_identical_files(tmp_path):
    write_ledger_csv(gen(customers=50, invoices=800), tmp_path / "a")
    write_ledger_csv(gen(customers=50, invoices=800), tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_another_seed_or_day_gives_other_files(tmp_path):
    write_ledger_csv(gen(customers=50, invoices=800), tmp_path / "a")
    write_ledger_csv(gen(customers=50, invoices=800, seed=2), tmp_path / "b")
    write_ledger_csv(gen(customers=50, invoices=800, today=date(2025, 6, 16)), tmp_path / "c")
    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert all(a[k] != b[k] for k in a)
    assert a["invoices"] != c["invoices"]


def test_it_writes_the_requested_numbers_of_rows(ledger):
    out, written = ledger
    assert (written.customers, written.invoices) == (300, 6000)
    assert len(read(out / "customers.csv")) == 300
    assert len(read(out / "invoices.csv")) == 6000
    assert len(read(out / "payments.csv")) == written.payments
    # Most invoices of 18 months are paid; the recent and the bad ones are not.
    assert 0.75 * 6000 < written.payments < 1.05 * 6000


def test_the_files_are_utf8_with_semicolons_and_the_french_headers(ledger):
    out, _ = ledger
    first_lines = {n: (out / f"{n}.csv").read_bytes().split(b"\r\n")[0].decode("utf-8") for n in
                   ("customers", "invoices", "payments")}
    assert first_lines["customers"] == (
        "Code client;Raison sociale;SIREN;Type;E-mail;Téléphone;Adresse;Code postal;Ville;Pays;Langue;Stratégique;"
        "Contact;Civilité;Procédure collective;Date du jugement;Type de procédure"
    )
    assert first_lines["invoices"] == (
        "Numéro de facture;Code client;Raison sociale;Date de facture;Date d'échéance;Montant HT;TVA;Montant TTC;"
        "Devise;Déjà payé"
    )
    assert first_lines["payments"] == "Date;Montant;Code client;Facture;Référence;Mode"
    assert [
        first_lines[n].split(";") for n in ("customers", "invoices", "payments")
    ] == [CUSTOMERS_HEADER, INVOICES_HEADER, PAYMENTS_HEADER]
    assert not (out / "customers.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_amounts_have_a_decimal_comma_and_add_up(ledger):
    out, _ = ledger
    for row in read(out / "invoices.csv"):
        assert "." not in row["Montant TTC"] and "," in row["Montant TTC"]
        net, tax, total = amount(row["Montant HT"]), amount(row["TVA"]), amount(row["Montant TTC"])
        assert net + tax == total and total > 0
        assert tax in {Decimal("0.00"), (net * Decimal("0.2")).quantize(Decimal("0.01"))}
        assert row["Devise"] == "EUR" and row["Déjà payé"] == ""


def test_sirens_are_valid_and_unique(rows):
    customers, _ = rows
    sirens = [c.siren for c in customers if c.siren]
    assert all(siren.is_valid(s) for s in sirens)
    assert len(set(sirens)) == len(sirens)
    # Businesses and public bodies in France have one; consumers and foreign companies do not.
    assert all(bool(c.siren) == (c.kind != "consumer" and c.country == "FR") for c in customers)


def test_sirens_stay_unique_for_a_hundred_thousand_customers():
    sirens = [c.siren for c in gen(customers=100_000, invoices=0).customers() if c.siren]
    assert len(set(sirens)) == len(sirens) > 70_000


def test_contacts_are_valid_and_cannot_reach_anyone_real(rows):
    customers, _ = rows
    emails = [c.email for c in customers if c.email]
    assert len(emails) > 0.9 * len(customers)
    for email in emails:
        validate_email(email)
        assert email.endswith(".example")
    for c in customers:
        number = phonenumbers.parse(c.phone, c.country)
        assert phonenumbers.is_valid_number(number), c.phone
    french = [c.phone for c in customers if c.country == "FR"]
    assert any(p.startswith("+33 6") or p.startswith("+33 7") for p in french)
    assert any(p.startswith("04 65 71") for p in french)  # ARCEP's fiction range for the Lyon area


def test_customers_are_a_realistic_french_mix(rows):
    customers, _ = rows
    kinds = Counter(c.kind for c in customers)
    assert kinds["consumer"] > 0.1 * len(customers) and 0 < kinds["public"] < 0.1 * len(customers)
    assert 0.02 < sum(c.strategic for c in customers) / len(customers) < 0.09
    assert all(c.postcode and c.city and c.address for c in customers)
    assert Counter(c.country for c in customers)["FR"] > 0.95 * len(customers)
    assert Counter(c.city for c in customers).most_common(1)[0][0] == "Lyon"
    assert len({c.name for c in customers}) > 0.9 * len(customers)
    assert {c.language for c in customers} <= {"fr", "en"}


def test_invoice_dates_fall_within_the_months_ending_today(rows):
    _, invoices = rows
    start = add_months(TODAY, -18)
    issues = [inv.issue_date for inv, _ in invoices]
    assert issues == sorted(issues)
    assert start <= issues[0] and issues[-1] <= TODAY
    assert (issues[-1] - issues[0]).days > 500
    assert all(inv.issue_date <= inv.due_date <= inv.issue_date + timedelta(days=92) for inv, _ in invoices)
    assert all(d.weekday() < 5 for d in issues)
    numbers = [inv.number for inv, _ in invoices]
    assert len(set(numbers)) == len(numbers)


def test_payments_are_dated_between_issue_and_today_and_never_exceed_the_total(rows):
    _, invoices = rows
    references = []
    for inv, payments in invoices:
        assert sum((p.amount for p in payments), Decimal(0)) <= inv.total
        for p in payments:
            assert inv.issue_date <= p.date <= TODAY
            assert p.amount > 0 and p.invoice_number == inv.number and p.customer_code == inv.customer_code
            assert p.method in {"virement", "prélèvement", "chèque", "carte"}
            references.append(p.reference)
    assert len(set(references)) == len(references)


def _delays(customers, invoices) -> dict[str, list[int]]:
    behaviour = {c.code: c.behaviour for c in customers}
    delays = defaultdict(list)
    for inv, payments in invoices:
        if payments and sum(p.amount for p in payments) == inv.total:
            delays[behaviour[inv.customer_code]].append((payments[-1].date - inv.due_date).days)
    return delays


def test_payers_behave_as_their_profile_says():
    g = gen(customers=1000, invoices=20_000)
    customers = list(g.customers())
    invoices = list(g.invoices())
    shares = Counter(c.behaviour for c in customers)
    for name, share in BEHAVIOURS:
        assert abs(shares[name] / len(customers) - share) < 0.02, name
    delays = _delays(customers, invoices)
    on_time = sum(d <= 2 for d in delays["good"]) / len(delays["good"])
    assert on_time > 0.9  # weekends push a few direct debits to Monday
    assert 1 <= statistics.median(delays["average"]) <= 15
    assert 30 <= statistics.median(delays["late"]) <= 90
    assert min(delays["late"]) >= 30


def test_partial_payers_pay_some_invoices_in_two_parts(rows):
    customers, invoices = rows
    partial = {c.code for c in customers if c.behaviour == "partial"}
    split = [(inv, p) for inv, p in invoices if len(p) == 2]
    assert split and all(inv.customer_code in partial for inv, _ in split)
    partly = [inv for inv, p in invoices if len(p) == 1 and p[0].amount < inv.total]
    assert partly, "some invoices have received their first part only"


def test_disputes_are_on_disputers_invoices_and_open_ones_are_unpaid(rows):
    customers, invoices = rows
    disputers = {c.code for c in customers if c.behaviour == "disputer"}
    disputed = [(inv, p) for inv, p in invoices if inv.dispute]
    assert {"open", "resolved"} == {inv.dispute for inv, _ in disputed}
    assert all(inv.customer_code in disputers for inv, _ in disputed)
    assert all(not p for inv, p in disputed if inv.dispute == "open")
    assert all(sum(x.amount for x in p) == inv.total for inv, p in disputed if inv.dispute == "resolved")


def test_exactly_one_customer_is_insolvent_with_several_unpaid_invoices(rows):
    customers, invoices = rows
    insolvent = [c for c in customers if c.behaviour == "insolvent"]
    assert len(insolvent) == 1 and insolvent[0].kind == "business"
    unpaid = [inv for inv, p in invoices if inv.customer_code == insolvent[0].code and not p]
    assert len(unpaid) >= 3
    assert all(inv.issue_date >= TODAY.replace(year=TODAY.year - 1) for inv in unpaid)


def test_most_customers_name_a_contact_person_with_a_civility(rows):
    customers, _ = rows
    named = [c for c in customers if c.contact_name]
    assert 0.75 * len(customers) < len(named) < 0.95 * len(customers)
    assert {c.contact_civility for c in named} == {"M.", "Mme"}
    assert all(c.contact_name == c.name for c in named if c.kind == "consumer")
    assert not any(c.contact_civility for c in customers if not c.contact_name)


def test_the_insolvent_customer_carries_its_judgment_in_the_file(ledger):
    out, _ = ledger
    rows = read(out / "customers.csv")
    judged = [r for r in rows if r["Procédure collective"]]
    assert len(judged) == 1
    assert (judged[0]["Procédure collective"], judged[0]["Type de procédure"]) == ("oui", "redressement")
    assert day(judged[0]["Date du jugement"]) == TODAY - timedelta(days=30)
    assert all(not r["Date du jugement"] and not r["Type de procédure"] for r in rows if r not in judged)


def test_the_contact_columns_leave_the_rest_of_the_ledger_as_it_was(tmp_path):
    # Digests of the same ledger written before the contact columns existed, without them.
    g = gen(customers=50, invoices=400, seed=5)
    write_ledger_csv(g, tmp_path)
    customers = [";".join(r[:12]) for r in csv.reader((tmp_path / "customers.csv").open(encoding="utf-8"),
                                                      delimiter=";")]
    assert hashlib.sha256("\n".join(customers).encode()).hexdigest()[:16] == CUSTOMERS_BEFORE
    assert {n: d[:16] for n, d in digest(tmp_path).items() if n != "customers"} == OTHERS_BEFORE


def test_a_tiny_ledger_still_has_its_insolvent_customer():
    g = gen(customers=1, invoices=3)
    assert [c.behaviour for c in g.customers()] == ["insolvent"]
    assert len(list(g.invoices())) == 3


def _peak_writing(tmp_path, invoices: int) -> int:
    g = gen(customers=500, invoices=invoices, seed=3)
    tracemalloc.start()
    try:
        written = write_ledger_csv(g, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written.invoices == invoices
    return peak


def test_streaming_keeps_memory_flat_whatever_the_number_of_invoices(tmp_path):
    # Eight times the rows, about the same peak: nothing grows with the file (tracemalloc is slow,
    # hence modest sizes; the benchmark writes a million).
    small = _peak_writing(tmp_path / "small", 5_000)
    large = _peak_writing(tmp_path / "large", 40_000)
    assert large < small * 1.5 + 2 * 1024 * 1024, f"peak {small / 1e6:.1f} MB -> {large / 1e6:.1f} MB"


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        gen(customers=0)
    with pytest.raises(ValueError):
        gen(invoices=-1)
    with pytest.raises(ValueError):
        gen(months=0)


def test_the_generate_command_writes_the_three_files(tmp_path):
    call_command("generate", customers=20, invoices=200, seed=5, out=str(tmp_path), today="2025-06-15",
                 months=6, verbosity=0)
    invoices = read(tmp_path / "invoices.csv")
    assert len(read(tmp_path / "customers.csv")) == 20 and len(invoices) == 200
    assert min(day(r["Date de facture"]) for r in invoices) >= date(2024, 12, 15)
    assert (tmp_path / "payments.csv").exists()
    again = tmp_path / "again"
    call_command("generate", "--customers", "20", "--invoices", "200", "--seed", "5", "--out", str(again),
                 "--today", "2025-06-15", "--months", "6", verbosity=0)
    assert digest(tmp_path) == digest(again)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"customers": 0, "invoices": 10}, "--customers"),
        ({"customers": 5, "invoices": -1}, "--invoices"),
        ({"customers": 5, "invoices": 10, "today": "15/06/2025"}, "--today"),
        ({"customers": 5, "invoices": 10, "months": 0}, "--months"),
    ],
)
def test_the_generate_command_names_the_bad_option(tmp_path, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate", out=str(tmp_path), verbosity=0, **options)


def test_the_generate_command_refuses_a_file_as_output_folder(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(CommandError, match="not a directory"):
        call_command("generate", customers=2, invoices=2, out=str(target), verbosity=0)

