from __future__ import annotations

import codecs
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.ledger.importers import ImportUsageError, import_file
from relance.ledger.importers import fields as f
from relance.ledger.importers.result import FieldError
from relance.ledger.importers.tabular import _CHUNK, open_table
from relance.ledger.models import Customer, Invoice
from tests.ledger.data import write_csv, write_xlsx

CUSTOMERS = "Code client;Raison sociale;Ville\nC1;Société Générale d’Études;Besançon\nC2;Œuvres & Cie €;Saint-Étienne\n"


@pytest.mark.parametrize("encoding, bom", [
    ("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("cp1252", b""), ("utf-16", b""),
])
def test_it_reads_utf8_with_or_without_bom_windows_and_utf16_files(org, tmp_path, encoding, bom):
    path = tmp_path / "clients.csv"
    path.write_bytes(bom + CUSTOMERS.encode(encoding))
    result = import_file(org, "customers", path)
    assert result.created == 2, result.errors
    assert Customer.objects.get(external_id="C1").name == "Société Générale d’Études"
    assert Customer.objects.get(external_id="C2").city == "Saint-Étienne"


def test_a_latin1_file_with_bytes_cp1252_lacks_is_read_as_latin1(org, tmp_path):
    # The byte cp1252 lacks is a control character in Latin-1: in a column the import reads it is
    # refused (test_import_attacks.py), in a column it ignores it does no harm.
    text = "Code client;Raison sociale;Remarque\nC1;Hélène;\x81\n"
    path = write_csv(tmp_path, "c.csv", text, encoding="latin-1")
    with open_table(path) as table:
        assert table.encoding == "latin-1"
    assert import_file(org, "customers", path).created == 1
    assert Customer.objects.get().name == "Hélène"


def test_a_utf8_file_with_non_ascii_only_far_down_is_still_utf8(tmp_path):
    text = "Code client;Nom\n" + "C;A\n" * 300_000 + "C9;Ébène\n"
    path = write_csv(tmp_path, "c.csv", text)
    with open_table(path) as table:
        assert table.encoding == "utf-8"


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_it_detects_the_separator(org, tmp_path, sep):
    text = f"Code client{sep}Raison sociale{sep}Ville\nC1{sep}\"Dupont; Fils, et Cie\"{sep}Paris\n"
    path = write_csv(tmp_path, "c.csv", text)
    with open_table(path) as table:
        assert table.delimiter == sep
    assert import_file(org, "customers", path).created == 1
    assert Customer.objects.get().name == "Dupont; Fils, et Cie"


def test_headers_match_whatever_their_case_accents_and_spaces(org, customer, tmp_path):
    text = ("  NUMERO DE FACTURE ;client;DATE DE FACTURE;date d echeance;montant ttc  ;Deja paye\n"
            "F1;C001;01/02/2026;03/03/2026;120,00;20\n")
    assert import_file(org, "invoices", write_csv(tmp_path, "f.csv", text)).created == 1
    assert Invoice.objects.get().open_balance == Decimal("100.00")


def test_map_names_the_columns_it_does_not_know(org, customer, tmp_path):
    text = "Pièce n°;Tiers;Le;Pour le;Net à payer\nF1;C001;01/02/2026;03/03/2026;120,00\n"
    path = write_csv(tmp_path, "f.csv", text)
    assert not import_file(org, "invoices", path).ok
    mapping = {"Pièce n°": "number", "Tiers": "customer", "Le": "Date de facture", "Pour le": "due_date",
               "Net à payer": "total"}
    result = import_file(org, "invoices", path, mapping=mapping)
    assert result.created == 1, result.errors


def test_a_map_to_an_unknown_field_is_a_usage_error(org, tmp_path):
    path = write_csv(tmp_path, "c.csv", CUSTOMERS)
    with pytest.raises(ImportUsageError, match="champ inconnu"):
        import_file(org, "customers", path, mapping={"Ville": "planète"})


def test_a_missing_required_column_is_reported_on_the_header_line(org, tmp_path):
    path = write_csv(tmp_path, "f.csv", "Numéro de facture;Montant TTC\nF1;10\n")
    result = import_file(org, "invoices", path)
    assert {(e.line, e.field) for e in result.errors} == {
        (1, "Client"), (1, "Date de facture"), (1, "Date d'échéance")}


def test_an_empty_file_is_refused(org, tmp_path):
    result = import_file(org, "customers", write_csv(tmp_path, "c.csv", "\n\n"))
    assert [(e.line, e.message) for e in result.errors] == [(1, "fichier vide")]


def test_a_row_with_more_cells_than_headers_is_an_error(org, customer, tmp_path):
    # A decimal comma in a comma-separated file shifts the cells: never read it silently.
    text = "Invoice number,Customer,Invoice date,Due date,Total\nF1,C001,2026-02-01,2026-03-01,120,50\n"
    result = import_file(org, "invoices", write_csv(tmp_path, "f.csv", text))
    assert [(e.line, e.field) for e in result.errors] == [(2, "(ligne)")]


def test_line_numbers_are_the_files_even_with_blank_and_multiline_rows(org, tmp_path):
    text = 'Code client;Raison sociale;Notes\nC1;A;"deux\nlignes"\n\nC1;B;\n'
    result = import_file(org, "customers", write_csv(tmp_path, "c.csv", text))
    assert [(e.line, e.field) for e in result.errors] == [(5, "Code client")]


def test_it_reads_xlsx_with_typed_and_text_cells(org, customer, tmp_path):
    path = write_xlsx(tmp_path, "factures.xlsx", [
        ["Numéro de facture", "Client", "Date de facture", "Date d'échéance", "Montant HT", "TVA", "Montant TTC"],
        ["F1", "C001", datetime(2026, 2, 1), datetime(2026, 3, 3), 100.1, 20.02, 120.12],
        [None, None, None, None, None, None, None],
        ["F2", "C001", "01/02/2026", "2026-03-03", "1 000,00", "200,00", "1 200,00"],
        [1234, "C001", date(2026, 2, 1), date(2026, 3, 3), 0.1 + 0.2, 0, None],
    ])
    result = import_file(org, "invoices", path)
    assert result.created == 3, result.errors
    assert Invoice.objects.get(number="F1").total == Decimal("120.12")
    assert Invoice.objects.get(number="1234").total == Decimal("0.30")
    assert Invoice.objects.get(number="F2").due_date == date(2026, 3, 3)


def test_xlsx_problems_carry_the_sheet_row_number(org, customer, tmp_path):
    path = write_xlsx(tmp_path, "f.xlsx", [
        ["Numéro de facture", "Client", "Date de facture", "Date d'échéance", "Montant TTC"],
        ["F1", "C001", "hier", datetime(2026, 3, 3), 10],
    ])
    result = import_file(org, "invoices", path)
    assert [(e.line, e.field) for e in result.errors] == [(2, "Date de facture")]


def test_absent_files_are_usage_errors_and_broken_ones_are_refused(org, tmp_path):
    with pytest.raises(ImportUsageError, match="illisible"):
        import_file(org, "customers", tmp_path / "absent.csv")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result = import_file(org, "customers", broken)
    assert [(e.line, e.field) for e in result.errors] == [(0, "")]
    assert result.errors[0].message.startswith("fichier XLSX illisible")
    with pytest.raises(ImportUsageError, match="type d'import inconnu"):
        import_file(org, "suppliers", broken)


@pytest.mark.parametrize("text, amount", [
    ("1 234,56", "1234.56"), ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("12,5", "12.50"),
    ("-12.5", "-12.50"), ("1\u202f234,00 €", "1234.00"), ("(15,00)", "-15.00"), ("0", "0.00"),
    ("1234.56", "1234.56"), ("1234,56", "1234.56"), ("1\u00a0234,56", "1234.56"), ("12 345 678,90", "12345678.90"),
    ("-1 234,56 €", "-1234.56"), ("12,50€", "12.50"), ("12,50 EUR", "12.50"), ("1.234.567,00", "1234567.00"),
    ("1,234,567.00", "1234567.00"), ("100.000", "100.00"), (" 42 ", "42.00"),
])
def test_amounts_are_read_as_french_and_english_exports_write_them(text, amount):
    assert f.parse_money(text) == Decimal(amount)


@pytest.mark.parametrize("text", [
    "abc", "1,2,3", "12,345", "1e5", "NaN", "12,3,4", "9" * 13, "1.2.3,4", "5 5", "1 23,45", "12 34", "1.234",
    "1,234", "1.234.567", "1,234,567", "1 234.567,00", "+12", "--12", "12-", "(-12)", "(12", "€12", "12 €€",
    "1\t234", "١٢", "12,5,0", "0x10", "1_000", "Infinity", "12.", ",5", "1 000 000 000 000,00", "1" * 41,
])
def test_amounts_that_are_not_amounts_are_refused(text):
    with pytest.raises(FieldError):
        f.parse_money(text)


@pytest.mark.parametrize("text, day", [
    ("05/03/2026", date(2026, 3, 5)), ("5/3/2026", date(2026, 3, 5)), ("05-03-2026", date(2026, 3, 5)),
    ("05.03.26", date(2026, 3, 5)), ("2026-03-05", date(2026, 3, 5)), ("2026-03-05 00:00:00", date(2026, 3, 5)),
])
def test_dates_are_read_day_first_or_iso(text, day):
    assert f.parse_date(text) == day


@pytest.mark.parametrize("text", ["31/02/2026", "2026/03/05", "hier", "05/03", "01/01/1800"])
def test_impossible_dates_are_refused(text):
    with pytest.raises(FieldError):
        f.parse_date(text)


def test_a_derived_total_beyond_the_money_columns_is_refused(org, customer, tmp_path):
    text = ("Numéro de facture;Client;Date de facture;Date d'échéance;Montant HT;TVA\n"
            "F1;C001;01/02/2026;03/03/2026;999 999 999 999,00;200 000 000 000,00\n")
    result = import_file(org, "invoices", write_csv(tmp_path, "f.csv", text))
    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (2, "Montant TTC", "montant trop grand: 1199999999999.00")]
    assert not Invoice.objects.exists()


@pytest.mark.parametrize("text", ["01 23 45 67 89", "+33 1 23 45 67 89", "(0)1.23.45.67.89", "01-23-45-67-89"])
def test_phone_numbers_are_digits_spaces_dots_dashes_parentheses_and_a_leading_plus(text):
    assert f.parse_phone_text(text) == text


@pytest.mark.parametrize("text", ["01 23 45 67 89;06 12 34 56 78", "+33 1 23 +45", "01/23/45/67/89",
                                  "0123456789\x00", "0123456789 ext 2", "tel:0123456789", "01 23 45 67 89,"])
def test_anything_else_in_a_phone_number_is_refused(text):
    with pytest.raises(FieldError, match="téléphone invalide"):
        f.parse_phone_text(text)


def test_a_utf8_file_is_utf8_and_a_windows_file_is_cp1252(tmp_path):
    text = "Code client;Raison sociale\nC1;Société € œuvre\n"
    with open_table(write_csv(tmp_path, "u.csv", text)) as table:
        assert table.encoding == "utf-8"
    with open_table(write_csv(tmp_path, "w.csv", text, encoding="cp1252")) as table:
        assert table.encoding == "cp1252"


def test_a_utf8_character_split_across_read_blocks_is_still_utf8(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"Code client;Raison sociale\nC1;" + b"a" * (_CHUNK - 31) + "é\n".encode())
    assert path.read_bytes()[_CHUNK - 1:_CHUNK + 1] == "é".encode()
    with open_table(path) as table:
        assert table.encoding == "utf-8"


def test_a_utf8_file_with_a_windows_line_is_refused_on_that_line(org, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes("Code client;Raison sociale\nC1;Société\nC2;Dupont\n".encode() + "C3;Hélène\n".encode("cp1252"))
    result = import_file(org, "customers", path)
    assert [(e.line, e.field) for e in result.errors] == [(4, "(ligne)")]
    assert "encodage mélangé" in result.errors[0].message and "e9" in result.errors[0].message
    assert not Customer.objects.exists()


@pytest.mark.parametrize("parse", [
    f.parse_money, f.parse_date, f.parse_bool, f.parse_kind, f.parse_currency, f.parse_country, f.parse_language,
    f.parse_email, f.parse_phone, f.parse_phone_text, f.parse_siren, f.parse_siret, f.parse_vat, f.parse_iban,
    f.parse_method, f.parse_tags, f.text_parser(10), f.parse_civility, f.parse_insolvency_kind,
])
@given(value=st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.dates(), st.booleans(),
                       st.decimals(allow_nan=True)))
def test_any_cell_gives_a_value_or_a_field_error(parse, value):
    try:
        parse(value)
    except FieldError as exc:
        assert str(exc)
