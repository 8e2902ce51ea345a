"""The FEC importer: real exports, generated ones, lettering, re-imports, the command, hostile bytes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relance.cli import main
from relance.ledger import totals
from relance.ledger.importers import detect_kind, import_file
from relance.ledger.importers.fec import REQUIRED, is_fec
from relance.ledger.models import Allocation, CreditNote, Customer, ImportBatch, Invoice, Payment
from tests.ledger.data import assert_balance_invariant
from tests.ledger.test_totals import assert_true

SAMPLES = Path(__file__).parent / "samples" / "fec"
HEADER = list(REQUIRED)


def line(journal="VE", num="1", day="20260105", account="411000", aux="C001", aux_name="Dupont SARL", ref="F001",
         label="Facture F001", debit="120,00", credit="0,00", letter="", piece_day=None, lib="Ventes") -> list[str]:
    return [journal, lib, num, day, account, "Clients", aux, aux_name, ref, piece_day or day, label, debit, credit,
            letter, "", day, "", ""]


def sale(num, ref, amount, tax, customer="C001", name="Dupont SARL", day="20260105", letter="", journal="VE"):
    """The three lines of an invoice: customer debit, revenue and tax credits."""
    total, vat = Decimal(amount.replace(",", ".")), Decimal(tax.replace(",", "."))
    net = f"{total - vat:.2f}".replace(".", ",")
    return [
        line(journal, num, day, "411000", customer, name, ref, f"Facture {ref}", amount, "0,00", letter),
        line(journal, num, day, "706000", "", "", ref, f"Facture {ref}", "0,00", net),
        line(journal, num, day, "445710", "", "", ref, f"Facture {ref}", "0,00", tax),
    ]


def receipt(num, ref, amount, customer="C001", name="Dupont SARL", day="20260120", letter="", journal="BQ"):
    """A bank receipt: bank debit, customer credit."""
    return [
        line(journal, num, day, "512000", "", "", ref, f"Virement {customer}", amount, "0,00", lib="Banque"),
        line(journal, num, day, "411000", customer, name, ref, f"Virement {customer}", "0,00", amount, letter,
             lib="Banque"),
    ]


def write_fec(tmp_path: Path, rows: list[list[str]], *, sep="\t", header=None, encoding="utf-8", name="FEC.txt",
              end="\r\n", bom=False) -> Path:
    text = end.join(sep.join(cells) for cells in [header or HEADER, *rows]) + end
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def counts() -> tuple[int, int, int, int, int]:
    return (Customer.objects.count(), Invoice.objects.count(), CreditNote.objects.count(), Payment.objects.count(),
            Allocation.objects.count())


# --- the real exports ------------------------------------------------------------------------------------

@pytest.mark.parametrize("sample", sorted(p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*")
                                          if p.suffix.lower() in {".txt", ".csv"} and "LICENSES" not in p.parts))
def test_each_real_export_imports_and_is_recognised(org, sample):
    path = SAMPLES / sample
    assert detect_kind(path) == "fec"
    result = import_file(org, "fec", path)
    assert result.errors == []
    for invoice in Invoice.objects.all():
        assert_balance_invariant(invoice)
    again = import_file(org, "fec", path)
    assert (again.errors, again.created, again.updated) == ([], 0, 0)
    assert again.unchanged == result.created


def test_a_pipe_separated_export_with_padding_and_a_non_utf8_byte_reads_every_customer(org):
    result = import_file(org, "fec", SAMPLES / "111111111FEC20221231.TXT")
    assert result.errors == [] and result.extra["customers_created"] == 34
    leclerc = Customer.objects.get(external_id="41101590")
    assert leclerc.name == "E.LECLERC CARPENTR"
    # One PieceRef per month of sales ("VE  0123"): the entry number tells the invoices apart.
    first = Invoice.objects.get(number="VE 0123/00000001")
    assert (first.customer, first.issue_date, first.total, first.tax) == (
        leclerc, date(2023, 1, 9), Decimal("74.70"), Decimal("3.89"))
    # Lettered AA with the payment of 2023-02-09: settled.
    assert (first.open_balance, first.status) == (Decimal("0.00"), "paid")
    assert first.allocations.get().payment.date == date(2023, 2, 9)
    # Debit total of the customer accounts = invoices; credits = payments + credit notes.
    assert sum(Invoice.objects.values_list("total", flat=True)) > 0
    assert CreditNote.objects.count() == 5


def test_opening_balances_sharing_one_piece_reference_become_one_invoice_each(org):
    import_file(org, "fec", SAMPLES / "excerpts" / "0000000001FEC20220831.txt")
    numbers = set(Invoice.objects.values_list("number", flat=True))
    assert len(numbers) == 7 and all(n.startswith("RAN/1/20210901/") for n in numbers)
    assert Invoice.objects.get(customer__external_id="CLAURE").total == Decimal("6135.88")


def test_a_ledger_without_customer_accounts_imports_nothing(org):
    result = import_file(org, "fec", SAMPLES / "FEC.csv")
    assert (result.errors, result.created) == ([], 0)
    assert counts() == (0, 0, 0, 0, 0)


# --- generated exports: encodings, separators, variants ---------------------------------------------------

def test_a_windows_export_with_accents_pipes_and_decimal_commas(org, tmp_path):
    rows = [
        line(aux_name="Société Générale d'Électricité", debit="1200,50"),
        line(account="706000", aux="", aux_name="", debit="0,00", credit="1000,42"),
        line(account="445710", aux="", aux_name="", debit="0,00", credit="200,08"),
    ]
    path = write_fec(tmp_path, rows, sep="|", encoding="cp1252")
    assert b"\xe9" in path.read_bytes()  # é in cp1252
    result = import_file(org, "fec", path)
    assert result.errors == []
    invoice = Invoice.objects.get(number="F001")
    assert invoice.customer.name == "Société Générale d'Électricité"
    assert (invoice.total, invoice.tax, invoice.amount_excl_tax) == (
        Decimal("1200.50"), Decimal("200.08"), Decimal("1000.42"))
    # No EcheanceDate: the legal default term, 30 days (Code de commerce L441-10 I).
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 1, 5), date(2026, 2, 4))


def test_a_latin9_export_keeps_its_oe_and_euro(org, tmp_path):
    rows = [line(aux_name="Cœur de Bœuf SARL", label="Facture 120 €"), line(account="706000", aux="", aux_name="",
                                                                           debit="0,00", credit="120,00")]
    path = write_fec(tmp_path, rows, sep="|", encoding="iso8859-15")
    assert b"\xbd" in path.read_bytes()  # œ in ISO-8859-15 (½ in cp1252)
    assert import_file(org, "fec", path).errors == []
    assert Customer.objects.get().name == "Cœur de Bœuf SARL"
    assert Payment.objects.count() == 0 and Invoice.objects.get().total == Decimal("120.00")


def test_a_utf8_export_with_bom_points_and_an_echeance_column(org, tmp_path):
    header = [*HEADER, "EcheanceDate"]
    rows = [[*cells, "20260315" if cells[4] == "411000" else ""] for cells in sale("1", "F001", "120.00", "20.00")]
    result = import_file(org, "fec", write_fec(tmp_path, rows, header=header, bom=True, end="\n"))
    assert result.errors == []
    assert Invoice.objects.get(number="F001").due_date == date(2026, 3, 15)


def test_the_montant_and_sens_variant(org, tmp_path):
    header = [h for h in HEADER if h not in ("Debit", "Credit")] + ["Montant", "Sens"]

    def signed(cells):
        debit, credit = cells[11], cells[12]
        rest = cells[:11] + cells[13:]
        return [*rest, debit, "D"] if debit != "0,00" else [*rest, credit, "C"]

    rows = [signed(c) for c in sale("1", "F001", "120,00", "20,00", letter="A")[:1] + sale("1", "F001", "120,00",
                                                                                          "20,00")[1:]]
    rows += [signed(c) for c in receipt("2", "R1", "120,00", letter="A")]
    result = import_file(org, "fec", write_fec(tmp_path, rows, header=header))
    assert result.errors == []
    assert Invoice.objects.get(number="F001").status == "paid"


def test_every_missing_column_is_named(org, tmp_path):
    header = [h for h in HEADER if h not in ("EcritureLet", "Idevise", "PieceDate")]
    rows = [[c for h, c in zip(HEADER, cells, strict=True) if h in header] for cells in sale("1", "F1", "1", "0")]
    path = write_fec(tmp_path, rows, header=header)
    result = import_file(org, "fec", path)
    assert [(p.line, p.field) for p in result.errors] == [(1, "(en-tête)")]
    assert result.errors[0].message == "colonnes obligatoires du FEC absentes: PieceDate, EcritureLet, Idevise"
    assert counts() == (0, 0, 0, 0, 0)


def test_a_bad_date_and_a_bad_amount_are_named_by_line_and_field_and_nothing_is_written(org, tmp_path):
    rows = sale("1", "F001", "120,00", "20,00")
    rows[1][3] = "2026-01-05"  # line 3
    rows[2][12] = "20,0,0"  # line 4
    rows += receipt("2", "R1", "abc")  # line 6: the customer line
    path = write_fec(tmp_path, rows)
    result = import_file(org, "fec", path)
    assert [(p.line, p.field) for p in result.errors] == [(3, "EcritureDate"), (4, "Credit"), (5, "Debit"),
                                                          (6, "Credit")]
    assert result.errors[0].message == "date invalide (AAAAMMJJ attendu): '2026-01-05'"
    assert result.error_lines()[1] == f"{path}:4: Credit: montant invalide: '20,0,0'"
    assert counts() == (0, 0, 0, 0, 0) and not ImportBatch.objects.exists()


def test_a_short_line_and_an_impossible_date_are_refused(org, tmp_path):
    rows = sale("1", "F001", "120,00", "20,00")
    rows[0][3] = "20260230"
    rows.append(["VE", "Ventes", "2"])
    result = import_file(org, "fec", write_fec(tmp_path, rows))
    assert [(p.line, p.field, p.message) for p in result.errors] == [
        (2, "EcritureDate", "date inexistante: '20260230'"), (5, "(ligne)", "3 colonnes pour 18 en-têtes")]


def test_a_control_character_or_an_oversized_piece_on_a_customer_line_is_refused(org, tmp_path):
    rows = sale("1", "F001", "120,00", "20,00")
    rows[0][10] = "Facture\x00F001"
    result = import_file(org, "fec", write_fec(tmp_path, rows, name="a.txt"))
    assert [(p.line, p.field, p.message) for p in result.errors] == [
        (2, "EcritureLib", "caractère de contrôle interdit")]
    rows = [line(num="2", ref="F002", debit="999999999999,99"), line(num="2", ref="F002", debit="1,00")]
    result = import_file(org, "fec", write_fec(tmp_path, rows, name="b.txt"))
    assert [(p.line, p.field, p.message) for p in result.errors] == [
        (3, "Debit", "pièce trop grosse (1000000000000.99)")]
    assert counts() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "fichier vide"),
    (b"\xff\xfeJ\x00\x00\xd8", "encodage illisible"),
])
def test_an_empty_or_unreadable_file_is_refused_as_a_whole(org, tmp_path, content, message):
    path = tmp_path / "FEC.txt"
    path.write_bytes(content)
    result = import_file(org, "fec", path)
    assert len(result.errors) == 1 and message in result.errors[0].message


def test_a_spreadsheet_or_a_semicolon_file_is_not_a_fec(org, tmp_path):
    path = tmp_path / "fec.csv"
    path.write_text(";".join(HEADER) + "\n")
    result = import_file(org, "fec", path)
    assert result.error_lines() == [f"{path}:1: (ligne): un FEC sépare ses colonnes par des tabulations ou des « | »"]
    assert not is_fec(path)


# --- what the lines become -------------------------------------------------------------------------------

def test_lettering_settles_invoices_and_unlettered_credits_stay_unallocated(org, tmp_path):
    rows = (sale("1", "F001", "120,00", "20,00", letter="AA") + sale("2", "F002", "60,00", "10,00", letter="AA")
            + sale("3", "F003", "240,00", "40,00")
            + receipt("10", "R1", "180,00", letter="AA") + receipt("11", "R2", "50,00"))
    result = import_file(org, "fec", write_fec(tmp_path, rows))
    assert result.errors == [] and result.extra["allocations_created"] == 2
    f1, f2, f3 = (Invoice.objects.get(number=n) for n in ("F001", "F002", "F003"))
    assert (f1.status, f2.status, f3.status) == ("paid", "paid", "open")
    r2 = Payment.objects.get(amount=Decimal("50.00"))
    assert (r2.customer.external_id, r2.allocations.count(), r2.date) == ("C001", 0, date(2026, 1, 20))
    for invoice in (f1, f2, f3):
        assert_balance_invariant(invoice)


def test_partial_lettering_settles_what_it_holds(org, tmp_path):
    rows = sale("1", "F001", "100,00", "0,00", letter="a") + receipt("10", "R1", "40,00", letter="a")
    import_file(org, "fec", write_fec(tmp_path, rows))
    invoice = Invoice.objects.get(number="F001")
    assert (invoice.open_balance, invoice.status) == (Decimal("60.00"), "partly_paid")


def test_an_overpayment_keeps_its_rest_unallocated(org, tmp_path):
    rows = sale("1", "F001", "100,00", "0,00", letter="B") + receipt("10", "R1", "130,00", letter="B")
    import_file(org, "fec", write_fec(tmp_path, rows))
    payment = Payment.objects.get()
    assert Invoice.objects.get().status == "paid"
    assert payment.amount - sum(a.amount for a in payment.allocations.all()) == Decimal("30.00")


def test_a_credit_in_the_sales_journal_is_a_credit_note_settling_its_lettered_invoice(org, tmp_path):
    rows = sale("1", "F001", "120,00", "20,00", letter="C")
    rows += [line("VE", "2", "20260110", "411000", ref="AV001", debit="0,00", credit="120,00", letter="C"),
             line("VE", "2", "20260110", "706000", "", "", ref="AV001", debit="120,00", credit="0,00")]
    import_file(org, "fec", write_fec(tmp_path, rows))
    note = CreditNote.objects.get()
    assert (note.number, note.total, note.date, note.customer.external_id) == (
        "AV001", Decimal("120.00"), date(2026, 1, 10), "C001")
    assert Invoice.objects.get().allocations.get().credit_note == note


def test_lettering_pairs_by_customer_not_by_code_alone(org, tmp_path):
    rows = (sale("1", "F001", "100,00", "0,00", letter="AA")
            + sale("2", "F002", "100,00", "0,00", customer="C002", name="Martin", letter="AA")
            + receipt("10", "R1", "100,00", customer="C002", name="Martin", letter="AA"))
    import_file(org, "fec", write_fec(tmp_path, rows))
    assert Invoice.objects.get(number="F001").status == "open"
    assert Invoice.objects.get(number="F002").status == "paid"


def test_without_an_auxiliary_account_the_account_is_the_customer(org, tmp_path):
    rows = [line(account="411DUPONT", aux="", aux_name="", debit="50,00"),
            line(account="706000", aux="", aux_name="", credit="50,00", debit="0,00")]
    rows[0][5] = "Dupont et fils"
    import_file(org, "fec", write_fec(tmp_path, rows))
    assert Invoice.objects.get().customer.name == "Dupont et fils"
    assert Customer.objects.get().external_id == "411DUPONT"


def test_the_sales_journals_can_be_named_and_other_customer_debits_are_left_out(org, tmp_path):
    rows = sale("1", "F001", "100,00", "0,00", journal="VT") + sale("2", "X001", "80,00", "0,00", journal="OD")
    result = import_file(org, "fec", write_fec(tmp_path, rows), options={"journals": {"VT"}})
    assert list(Invoice.objects.values_list("number", flat=True)) == ["F001"]
    assert result.extra["customer_debits_left_out"] == 1


def test_another_customer_prefix(org, tmp_path):
    rows = [line(account="416000", debit="50,00"), line(account="706000", aux="", credit="50,00", debit="0,00")]
    path = write_fec(tmp_path, rows)
    assert import_file(org, "fec", path).created == 0
    assert import_file(org, "fec", path, options={"prefix": "416"}).created == 1


def test_an_invoice_of_another_customer_with_the_same_number_refuses_the_file(org, customer, make_invoice, tmp_path):
    make_invoice(number="F001")
    rows = sale("1", "F001", "120,00", "20,00", customer="C999", name="Autre")
    result = import_file(org, "fec", write_fec(tmp_path, rows))
    assert [(p.line, p.field, p.message) for p in result.errors] == [
        (2, "PieceRef", "la facture F001 existe déjà pour un autre client")]
    assert not Customer.objects.filter(external_id="C999").exists()


def test_an_invoice_imported_from_csv_is_settled_by_the_fec_lettering(org, customer, make_invoice, tmp_path):
    invoice = make_invoice(number="F001", total="120.00", issue=date(2026, 1, 5), due=date(2026, 2, 28))
    rows = sale("1", "F001", "120,00", "20,00", letter="A") + receipt("2", "R1", "120,00", letter="A")
    result = import_file(org, "fec", write_fec(tmp_path, rows))
    assert (result.created, result.unchanged) == (1, 1)  # the payment; the invoice as it was
    invoice.refresh_from_db()
    assert (invoice.status, invoice.due_date) == ("paid", date(2026, 2, 28))  # the FEC gives no due date


# --- re-imports ----------------------------------------------------------------------------------------

def test_the_same_fec_twice_adds_nothing(org, tmp_path):
    rows = sale("1", "F001", "120,00", "20,00", letter="A") + receipt("2", "R1", "100,00", letter="A")
    rows += receipt("3", "R2", "70,00")
    path = write_fec(tmp_path, rows)
    first = import_file(org, "fec", path)
    before = counts()
    again = import_file(org, "fec", path)
    assert (first.created, again.created, again.updated, again.unchanged) == (3, 0, 0, 3)
    assert counts() == before
    assert Invoice.objects.get().open_balance == Decimal("20.00")


def test_a_later_fec_with_more_lettering_settles_more(org, tmp_path):
    early = sale("1", "F001", "120,00", "20,00") + receipt("2", "R1", "120,00")
    import_file(org, "fec", write_fec(tmp_path, early, name="early.txt"))
    assert Invoice.objects.get().status == "open" and Payment.objects.count() == 1
    late = sale("1", "F001", "120,00", "20,00", letter="AB") + receipt("2", "R1", "120,00", letter="AB")
    late += sale("3", "F002", "50,00", "0,00")
    result = import_file(org, "fec", write_fec(tmp_path, late, name="late.txt"))
    assert (result.created, result.unchanged, result.extra["allocations_created"]) == (1, 2, 1)
    assert Invoice.objects.get(number="F001").status == "paid" and Payment.objects.count() == 1


def test_partial_lettering_completed_in_a_later_fec_settles_the_rest(org, tmp_path):
    early = sale("1", "F001", "100,00", "0,00", letter="a") + receipt("2", "R1", "40,00", letter="a")
    import_file(org, "fec", write_fec(tmp_path, early, name="early.txt"))
    late = (sale("1", "F001", "100,00", "0,00", letter="A") + receipt("2", "R1", "40,00", letter="A")
            + receipt("3", "R2", "60,00", day="20260201", letter="A"))
    result = import_file(org, "fec", write_fec(tmp_path, late, name="late.txt"))
    assert (result.created, result.unchanged, result.extra["allocations_created"]) == (1, 2, 1)
    invoice = Invoice.objects.get()
    assert invoice.status == "paid"
    assert sorted(a.amount for a in invoice.allocations.all()) == [Decimal("40.00"), Decimal("60.00")]


def test_the_running_totals_stay_true(org, customer, make_invoice, tmp_path):
    make_invoice(number="F001", total="120.00", issue=date(2026, 1, 5), due=date(2026, 2, 4))
    totals.bring_to(org, date(2026, 7, 15))
    rows = (sale("1", "F001", "120,00", "20,00", letter="A") + receipt("2", "R1", "120,00", letter="A")
            + sale("3", "F002", "80,00", "0,00", letter="B") + receipt("4", "R2", "30,00", letter="B")
            + sale("5", "F003", "50,00", "0,00", customer="C002", name="Martin"))
    assert import_file(org, "fec", write_fec(tmp_path, rows)).errors == []
    assert_true(org, date(2026, 7, 15))


def test_a_changed_amount_updates_the_invoice(org, tmp_path):
    import_file(org, "fec", write_fec(tmp_path, sale("1", "F001", "120,00", "20,00"), name="a.txt"))
    result = import_file(org, "fec", write_fec(tmp_path, sale("1", "F001", "150,00", "25,00"), name="b.txt"))
    assert (result.updated, result.errors) == (1, [])
    invoice = Invoice.objects.get()
    assert (invoice.total, invoice.tax, invoice.open_balance) == (Decimal("150.00"), Decimal("25.00"),
                                                                   Decimal("150.00"))


def test_a_dry_run_counts_and_writes_nothing(org, tmp_path):
    rows = sale("1", "F001", "120,00", "20,00", letter="A") + receipt("2", "R1", "120,00", letter="A")
    result = import_file(org, "fec", write_fec(tmp_path, rows), dry_run=True)
    assert (result.created, result.errors, result.batch_id) == (2, [], None)
    assert counts() == (0, 0, 0, 0, 0) and not ImportBatch.objects.exists()


# --- the command -----------------------------------------------------------------------------------------

def relance(*args: str) -> int:
    try:
        return main(["relance", "import", *args])
    except SystemExit as exc:
        return exc.code


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", [("fec",), (), ("--format", "fec")])
def test_the_command_imports_a_fec_named_or_recognised(org, tmp_path, capsys, how):
    rows = sale("1", "F001", "120,00", "20,00", letter="A") + receipt("2", "R1", "120,00", letter="A")
    path = write_fec(tmp_path, rows)
    args = [*how, str(path)] if how[:1] == ("fec",) else [str(path), *how]
    assert relance(*args, "--org", "abc") == 0
    out = capsys.readouterr().out
    assert "2 créés" in out and "1 clients créés" in out and "1 affectations créées par le lettrage" in out
    assert Invoice.objects.get().status == "paid"


@pytest.mark.django_db(transaction=True)
def test_the_command_refuses_a_bad_fec_with_each_problem_and_exit_1(org, tmp_path, capsys):
    rows = [line(debit="12O,00"), line(account="706000", aux="", debit="0,00", credit="120,00")]
    path = write_fec(tmp_path, rows)
    assert relance("fec", str(path), "--org", "abc", "--journals", "VE") == 1
    err = capsys.readouterr().err
    assert f"{path}:2: Debit: montant invalide: '12O,00'" in err and "rien n'a été écrit" in err


@pytest.mark.django_db(transaction=True)
def test_the_command_says_when_it_cannot_tell_the_format(org, tmp_path, capsys):
    path = tmp_path / "clients.csv"
    path.write_text("Code client;Nom\nC1;Dupont\n")
    assert relance(str(path), "--org", "abc") == 2
    assert "type de fichier non reconnu" in capsys.readouterr().err
    assert relance("factures", str(path), "--org", "abc") == 2


# --- hostile bytes ---------------------------------------------------------------------------------------

_HEAD = ("\t".join(HEADER) + "\n").encode()
_GOOD = "\t".join(line(letter="A")).encode() + b"\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(body=st.one_of(
    st.binary(max_size=400),
    st.binary(max_size=400).map(lambda b: _HEAD + b),
    st.lists(st.sampled_from([_GOOD, b"\t", b"|", b"\r", b"\n", b"\xe9", b"\xc3\xa9", b"\x00", b"0,0", b"2026",
                              b"411", b"\"", b"\xef\xbb\xbf"]), max_size=40).map(lambda parts: _HEAD + b"".join(parts)),
))
def test_any_bytes_give_a_result_or_a_clear_error(org, tmp_path_factory, body):
    path = tmp_path_factory.mktemp("fec") / "FEC.txt"
    path.write_bytes(body)
    before = counts()
    result = import_file(org, "fec", path)
    if not result.ok:
        assert counts() == before
        assert all(p.message and (p.line == 0 or p.field) for p in result.errors)
    for invoice in Invoice.objects.all():
        assert_balance_invariant(invoice)
