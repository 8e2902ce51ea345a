"""The hostile files of the December 2026 attack on `relance import`: each one is refused by the
command with exit 1, a `file:line: field: message` (or `file: message`) naming the problem, no
traceback, and nothing written."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from relance.ledger.models import Contact, Customer, ImportBatch, Invoice, Payment
from tests.ledger.data import write_csv, write_xlsx

CUSTOMERS = "Code client;Raison sociale;E-mail;Téléphone\n"
INVOICES = "Numéro de facture;Client;Nom client;Date de facture;Date d'échéance;Montant HT;TVA;Montant TTC\n"


def refused(kind: str, path: Path) -> list[str]:
    """Run the command on a file it must refuse; the problems it printed."""
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_ledger", kind, str(path), "--org", "abc", stdout=io.StringIO(), stderr=err)
    assert caught.value.returncode == 1, caught.value
    assert "rien n'a été écrit" in str(caught.value)
    text = err.getvalue()
    assert "Traceback" not in text
    assert not (ImportBatch.objects.exists() or Customer.objects.exists() or Invoice.objects.exists()
                or Payment.objects.exists() or Contact.objects.exists())
    return text.splitlines()


def assert_problem(lines: list[str], path: Path, line: int, field: str, message: str) -> None:
    where = f"{path}:{line}: {field}: " if line else f"{path}: "
    assert any(x.startswith(where) and re.search(message, x) for x in lines), lines


CSV_ATTACKS = [
    # (name, kind, content, line, field, message)
    ("nul-in-a-name", "customers", CUSTOMERS + "C1;Dupont\x00 SARL;;\n", 2, "Raison sociale", r"contrôle.*U\+0000"),
    ("nul-in-a-looked-up-code", "invoices", INVOICES + "F1;C\x001;Dupont;01/02/2026;03/03/2026;;;120\n", 2, "Client",
     r"U\+0000"),
    ("escape-in-a-name", "customers", CUSTOMERS + "C1;Dupont\x1b[31m;;\n", 2, "Raison sociale", r"U\+001B"),
    ("field-over-1-mib-in-the-first-lines", "customers", CUSTOMERS + "C1;" + "A" * (2 << 20) + ";;\n", 2,
     "(ligne)", "CSV mal formé"),
    ("open-quote-to-the-end", "customers", CUSTOMERS + 'C1;"Dupont\n' + "x;y;z;w\n" * 200_000, 2, "(ligne)",
     "CSV mal formé"),
    ("line-of-5-mib-without-break", "customers", CUSTOMERS + "C1;" + "A;" * (5 << 19), 2, "(ligne)",
     "CSV mal formé"),
    ("dotted-groups-of-one-digit", "invoices", INVOICES + "F1;C1;Dupont;01/02/2026;03/03/2026;;;1.2.3,4\n", 2,
     "Montant TTC", "montant invalide"),
    ("digits-split-by-a-space", "invoices", INVOICES + "F1;C1;Dupont;01/02/2026;03/03/2026;;;5 5\n", 2,
     "Montant TTC", "montant invalide"),
    ("derived-total-beyond-the-column", "invoices",
     INVOICES + "F1;C1;Dupont;01/02/2026;03/03/2026;999999999999;999999999999;\n", 2, "Montant TTC", "trop grand"),
    ("email-list-with-a-comma", "customers", CUSTOMERS + "C1;Dupont;compta@dupont.fr,pirate@evil.example;\n", 2,
     "E-mail", "une seule adresse"),
    ("email-list-with-a-semicolon", "customers", CUSTOMERS + 'C1;Dupont;"compta@dupont.fr;pirate@evil.example";\n',
     2, "E-mail", "une seule adresse"),
    ("email-with-a-comment", "customers", CUSTOMERS + "C1;Dupont;compta(pirate@evil.example)@dupont.fr;\n", 2,
     "E-mail", "une seule adresse"),
    ("email-with-a-display-name", "customers", CUSTOMERS + "C1;Dupont;Dupont <pirate@evil.example>;\n", 2,
     "E-mail", "une seule adresse"),
    ("email-with-a-quoted-comma", "customers", CUSTOMERS + 'C1;Dupont;"""a,pirate@evil.example""@dupont.fr";\n', 2,
     "E-mail", "une seule adresse"),
    ("email-with-a-nul", "customers", CUSTOMERS + "C1;Dupont;compta@dupont.fr\x00pirate@evil.example;\n", 2,
     "E-mail", r"U\+0000"),
    ("phone-with-a-semicolon-list", "customers", CUSTOMERS + 'C1;Dupont;;"01 23 45 67 89;06 12 34 56 78"\n', 2,
     "Téléphone", "téléphone invalide"),
    ("phone-with-a-second-plus", "customers", CUSTOMERS + "C1;Dupont;;+33 1 23 +45 67 89\n", 2, "Téléphone",
     "téléphone invalide"),
]


@pytest.mark.parametrize("name, kind, content, line, field, message", CSV_ATTACKS, ids=[a[0] for a in CSV_ATTACKS])
def test_each_hostile_csv_is_refused_with_its_line_and_field(org, tmp_path, name, kind, content, line, field,
                                                             message):
    path = write_csv(tmp_path, f"{name}.csv", content)
    assert_problem(refused(kind, path), path, line, field, message)


def test_a_latin1_byte_in_a_utf8_file_refuses_the_file_on_its_line(org, tmp_path):
    good = "".join(f"C{i};Société {i}\n" for i in range(12_000))
    path = tmp_path / "mixed.csv"
    path.write_bytes(("Code client;Raison sociale\n" + good).encode() + "C-x;Cafétéria\n".encode("latin-1"))
    assert_problem(refused("customers", path), path, 12_002, "(ligne)", "encodage mélangé")


def test_pk_magic_in_a_csv_is_refused_as_a_broken_workbook(org, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_bytes(b"PK\x03\x04" + b"Code client;Raison sociale\nC1;Dupont\n")
    assert_problem(refused("customers", path), path, 0, "", "XLSX illisible")


@pytest.mark.parametrize("device", ["/dev/zero", "fifo"])
def test_a_device_or_a_fifo_is_refused_at_once(org, tmp_path, device):
    if device == "fifo":
        device = tmp_path / "pipe.csv"
        os.mkfifo(device)  # opening it would block until someone writes: it must not be opened
    assert_problem(refused("customers", Path(device)), Path(device), 0, "", "pas un fichier ordinaire")


@override_settings(RELANCE_IMPORT_MAX_BYTES=1000)
def test_a_file_over_the_size_limit_is_refused_before_reading(org, tmp_path):
    path = write_csv(tmp_path, "big.csv", CUSTOMERS + "C1;Dupont;;\n" * 100)
    assert_problem(refused("customers", path), path, 0, "", "trop gros.*RELANCE_IMPORT_MAX_BYTES")


# --- XLSX ---------------------------------------------------------------------------------------------

SHEET = "xl/worksheets/sheet1.xml"


def workbook(tmp_path: Path, rows: list[list] | None = None) -> Path:
    return write_xlsx(tmp_path, "clients.xlsx", rows or [["Code client", "Raison sociale"], ["C1", "Dupont"]])


def rewrite(path: Path, member: str, transform) -> Path:
    """The same workbook with one member's XML changed (a member absent is added)."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[member] = transform(members.get(member, b"").decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def shared_strings(path: Path, xml: str) -> Path:
    """The workbook with a shared strings part (openpyxl writes inline strings, Excel shared ones)."""
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    rewrite(path, "[Content_Types].xml", lambda types: types.replace(
        "</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}"/></Types>'))
    return rewrite(path, "xl/sharedStrings.xml", lambda _: xml)


def _cell(xml: str, new: str) -> str:
    return re.sub(r"<c r=\"B2\".*?</c>", new, xml, flags=re.S)


XXE = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
       '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
       '<row r="1"><c r="A1" t="inlineStr"><is><t>Code client</t></is></c><c r="B1" t="inlineStr"><is><t>&e;</t></is>'
       '</c></row></sheetData></worksheet>')
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY l0 "ha">'
          + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
          + ']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
          '<si><t>&l9;</t></si></sst>')

XLSX_ATTACKS = [
    ("sheet-xml-cut-short", SHEET, lambda xml: xml[: len(xml) // 2]),
    ("workbook-xml-broken", "xl/workbook.xml", lambda xml: xml.replace("<sheets>", "<sheets><")),
    ("styles-xml-broken", "xl/styles.xml", lambda xml: "<styleSheet><numFmts count='x'>"),
    ("shared-string-index-out-of-range", SHEET, lambda xml: _cell(xml, '<c r="B2" t="s"><v>99</v></c>')),
    ("number-cell-holding-text", SHEET, lambda xml: _cell(xml, '<c r="B2" t="n"><v>abc</v></c>')),
    ("date-cell-holding-text", SHEET, lambda xml: _cell(xml, '<c r="B2" t="d"><v>hier</v></c>')),
    ("cell-reference-out-of-the-grid", SHEET, lambda xml: _cell(xml, '<c r="ZZZZZZ2"><v>1</v></c>')),
    ("xxe-in-the-sheet", SHEET, lambda xml: XXE),
    ("no-sheet-at-all", "xl/workbook.xml", lambda xml: re.sub(r"<sheets>.*</sheets>", "<sheets/>", xml)),
]


@pytest.mark.parametrize("name, member, transform", XLSX_ATTACKS, ids=[a[0] for a in XLSX_ATTACKS])
def test_each_corrupt_or_hostile_workbook_is_refused(org, tmp_path, name, member, transform):
    path = rewrite(workbook(tmp_path), member, transform)
    lines = refused("customers", path)
    assert any(x.startswith(f"{path}:") or x.startswith(f"{path}: ") for x in lines), lines
    assert any(re.search("XLSX|classeur|contrôle|Raison sociale|\\(ligne\\)", x) for x in lines), lines


def test_billion_laughs_in_the_shared_strings_are_refused(org, tmp_path):
    path = shared_strings(workbook(tmp_path), LAUGHS)
    assert_problem(refused("customers", path), path, 0, "", "XLSX illisible.*(Entities|DTD)Forbidden")


@override_settings(RELANCE_IMPORT_MAX_CELLS=20_000)
def test_a_sheet_claiming_a_million_rows_is_refused_at_the_cell_limit(org, tmp_path):
    # openpyxl pads each row to the width the sheet claims and yields every missing row: counted.
    def far_row(xml: str) -> str:
        xml = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', xml)
        return xml.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')

    path = rewrite(workbook(tmp_path), SHEET, far_row)
    [line] = refused("customers", path)
    expected = r":\d+: \(ligne\): plus de 20000 cellules lues: RELANCE_IMPORT_MAX_CELLS"
    assert re.fullmatch(re.escape(str(path)) + expected, line)


@override_settings(RELANCE_IMPORT_MAX_BYTES=20_000)
def test_a_zip_bomb_of_shared_strings_is_refused_before_reading(org, tmp_path):
    bomb = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + "<si><t>x</t></si>" * 100_000
    path = shared_strings(workbook(tmp_path), bomb + "</sst>")
    assert path.stat().st_size < 20_000
    assert_problem(refused("customers", path), path, 0, "", "trop gros")


def test_a_nul_in_a_workbook_is_refused(org, tmp_path):
    # XML 1.0 cannot hold a NUL (openpyxl leaves Excel's _x0000_ escapes as they are written).
    path = rewrite(workbook(tmp_path), SHEET, lambda xml: xml.replace("<t>Dupont</t>", "<t>Du&#0;pont</t>"))
    assert_problem(refused("customers", path), path, 2, "(ligne)", "XLSX illisible.*invalid character")
