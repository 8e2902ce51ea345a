"""The importers report in the active language: English msgids, the French catalogue word for word as before.

The command line speaks settings.LANGUAGE_CODE; a web import job speaks the language of the user who
started it, whichever thread runs it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from relance.cli import main
from relance.ledger import import_jobs, import_whole
from relance.ledger.importers import import_file
from tests.ledger.test_fec import line, receipt, sale, write_fec

SAMPLES = Path(__file__).parent / "samples"

pytestmark = pytest.mark.django_db

INVOICES = "Invoice number;Customer;Invoice date;Due date;Total\n"
# Each file of the kind refused for reasons of its own: cells (fields.py), rows, the header, the whole file.
BAD_FILES = {
    "invoices": [
        INVOICES + "F001;C001;15/01/2026;14/02/2026;10,00\n"
                   "F002;C001;15/01/2026;14/02/2026;douze\n"
                   "F003;C001;31/02/2026;14/03/2026;10,00\n"
                   "F004;C001;01/1850;14/03/2026;10,00\n"
                   "F001;C999;15/01/2026;10/01/2026;-5,00\n",
        INVOICES.replace("Total", "Total;Currency") + "F001;C001;15/01/2026;14/02/2026;10,00;EURO\n",
        INVOICES + "F001;C001;15/01/2026;14/02/2026;10,00;;;7\n",
        "Invoice number;Customer;Invoice date;Due date;Net amount;Tax;Total\n"
        "F001;C001;15/01/2026;14/02/2026;100,00;20,00;130,00\n",
    ],
    "customers": [
        "Customer code;City\nC999;Paris\n",
        "Customer code;Company name;Kind;Country;Language;Strategic;Title;Insolvency;Insolvency kind;Phone;Tags\n"
        "C1;A;martian;Atlantis;klingon;perhaps;Sir;yes;bankrupt;12;" + "x" * 60 + "\n",
        "Customer code;Company name;Customer code\nC1;A;C1\n",
        "Customer code;Company name\nC1;A\nC1;B\nC\x01;C\n",
        "Customer code;Company name;SIREN;SIRET;VAT number;E-mail\nC1;A;123;456;FR00;a,b@x.fr\nC2;B;;;;a@\n",
    ],
    "payments": [
        "Date;Amount;Customer;Invoice;Payment method;Payer IBAN\n01/02/2026;1;C001;;bitcoin;FR00\n"
        "01/02/2026;0;C999;F999;transfer;\n",
    ],
    "credit-notes": [
        "Credit note number;Date;Amount\nA1;01/02/2026;-3,00\n",
    ],
}
# Words and letters of French that no English message holds (a file's own header may: the fields come
# from English headers or from the importers' titles here).
FRENCH = re.compile(r"[éèêàùçô]|\b(obligatoire|ligne|inconnue?|invalide|fichier|montant|déjà|doit|avoir|"
                    r"colonnes?|attendu|pour|une?|client|facture|entre|en-tête)\b", re.IGNORECASE)


def run(org, kind: str, tmp_path, content: str | bytes, name: str = "f.csv", **options):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return import_file(org, kind, path, **options)


def problems(result) -> list[tuple[int, str, str]]:
    return [(p.line, p.field, p.message) for p in [*result.errors, *result.warnings]]


def test_a_cell_error_in_english_and_in_french(org, customer, tmp_path):
    content = BAD_FILES["invoices"][0]
    with translation.override("en"):
        english = problems(run(org, "invoices", tmp_path, content))
    with translation.override("fr"):
        french = problems(run(org, "invoices", tmp_path, content))
    assert (3, "Total", "invalid amount: 'douze'") in english
    assert (4, "Invoice date", "no such date: '31/02/2026'") in english
    assert (3, "Total", "montant invalide: 'douze'") in french
    assert (4, "Invoice date", "date inexistante: '31/02/2026'") in french
    assert (6, "Invoice number", "duplicate invoice number (already line 2)") in english
    assert (6, "Invoice number", "numéro de facture en double (déjà ligne 2)") in french


def test_a_row_error_names_the_missing_column_in_the_language_of_the_import(org, tmp_path):
    content = BAD_FILES["customers"][0]
    with translation.override("en"):
        english = problems(run(org, "customers", tmp_path, content))
    with translation.override("fr"):
        french = problems(run(org, "customers", tmp_path, content))
    assert english == [(2, "Company name", "company name required for a new customer")]
    assert french == [(2, "Raison sociale", "raison sociale obligatoire pour un nouveau client")]


def test_a_missing_column_is_named_in_the_language_of_the_import(org, tmp_path):
    content = "Invoice number;Customer;Invoice date;Total\nF1;C001;15/01/2026;10,00\n"
    with translation.override("en"):
        assert problems(run(org, "invoices", tmp_path, content)) == [(1, "Due date", "required column missing")]
    with translation.override("fr"):
        assert problems(run(org, "invoices", tmp_path, content)) == [
            (1, "Date d'échéance", "colonne obligatoire absente")]


def test_the_payment_term_warning_in_english_and_in_french(org, customer, tmp_path):
    content = INVOICES + "F001;C001;15/01/2026;15/06/2026;10,00\n"
    with translation.override("en"):
        english = run(org, "invoices", tmp_path, content, dry_run=True)
    with translation.override("fr"):
        french = run(org, "invoices", tmp_path, content, dry_run=True)
    assert english.ok and french.ok
    assert problems(english) == [(2, "Due date", (
        "payment term of 151 days: beyond the legal maximum between businesses (60 days from the invoice date or "
        "45 days end of month, art. L441-10 I of the Code de commerce: due at the latest on 2026-03-31)"))]
    assert problems(french) == [(2, "Due date", (
        "délai de paiement de 151 jours : au-delà du maximum légal entre professionnels (60 jours date de facture "
        "ou 45 jours fin de mois, art. L441-10 I du Code de commerce : échéance au plus tard le 2026-03-31)"))]
    with translation.override("en"):
        assert english.warning_lines()[0].startswith(f"{english.filename}:2: Due date: warning: payment term")


def test_a_refused_file_in_english_and_in_french(org, tmp_path):
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100)
    with translation.override("en"):
        english = problems(run(org, "invoices", tmp_path, xls, name="f.xls"))
    with translation.override("fr"):
        french = problems(run(org, "invoices", tmp_path, xls, name="f.xls"))
    assert english == [(0, "", "XLS format (Excel 97) not supported, save as XLSX or CSV")]
    assert french == [(0, "", "format XLS (Excel 97) non pris en charge, enregistrez en XLSX ou CSV")]
    mixed = INVOICES.encode() + "F1;C001;15/01/2026;14/02/2026;10,00 €\n".encode() + b"F2;C001;caf\xe9\n"
    with translation.override("en"):
        [(line, field, message)] = problems(run(org, "invoices", tmp_path, mixed))
    assert (line, field) == (3, "(line)") and message.startswith("mixed encodings: the file is in UTF-8")


def test_no_french_is_left_in_the_english_messages(org, customer, tmp_path):
    """Every crafted bad file, under "en": no French word; the same files under "fr" do speak French."""
    outputs = {}
    for language in ("en", "fr"):
        found = []
        with translation.override(language):
            for kind, contents in BAD_FILES.items():
                for content in contents:
                    result = run(org, kind, tmp_path, content)
                    assert not result.ok, (kind, content)
                    found += problems(result)
            found += problems(run(org, "invoices", tmp_path, b"\xd0\xcf\x11\xe0" + bytes(50), name="f.xls"))
            found += problems(run(org, "invoices", tmp_path, ""))
            found += problems(run(org, "invoices", tmp_path, INVOICES + "F1;C001;15/01/2026;15/06/2027;1\n"))
            found += problems(run(org, "invoices", tmp_path, INVOICES.encode() + "é\n".encode() + b"\xe9\n"))
            with pytest.raises(Exception) as refused:
                import_file(org, "invoices", tmp_path / "absent.csv")
            found.append((0, "", str(refused.value)))
        outputs[language] = found
    english, french = outputs["en"], outputs["fr"]
    assert len(english) == len(french) > 30
    leftovers = [p for p in english if FRENCH.search(p[1]) or FRENCH.search(p[2])]
    assert leftovers == []
    assert sum(bool(FRENCH.search(message)) for _, _, message in french) > 25
    assert english != french


def whole_files(tmp_path) -> list[tuple[str, Path]]:
    """Bad files of the whole-file formats: FEC, bank statements, e-invoices."""
    rows = sale("1", "F001", "120,00", "20,00") + receipt("2", "", "abc")
    rows[1][3], rows[0][10] = "2026-01-05", "Facture\x00F001"
    rows += [line(num="3", ref="F002", debit="-5,00"), ["VE", "Ventes", "4"]]
    short = tmp_path / "short.txt"
    short.write_text("JournalCode\tEcritureNum\tEcritureDate\tCompteNum\tPieceRef\nVE\t1\t20260101\t411\tF1\n")
    mt940 = tmp_path / "bad.sta"
    mt940.write_text(":20:STMT\n:25:FR7630006000011234567890189\n:28C:1\n:60F:C260101EUR100,00\n:61:nonsense\n-\n")
    camt = (SAMPLES / "camt053/test-camt053").read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(camt[: len(camt) * 2 // 3])
    ubl = (SAMPLES / "ubl-21-en16931.xml").read_bytes()
    broken = tmp_path / "broken.xml"
    broken.write_bytes(ubl[: len(ubl) // 2])
    pdf = tmp_path / "f.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    return [("fec", write_fec(tmp_path, rows)), ("fec", short), ("statement", mt940), ("statement", cut),
            ("ubl", SAMPLES / "ubl-21-en16931.xml"), ("ubl", broken), ("facturx", pdf)]


def test_no_french_is_left_in_the_whole_file_formats_in_english(org, tmp_path):
    outputs = {}
    for language in ("en", "fr"):
        with translation.override(language):
            outputs[language] = [problems(import_whole.run(org, kind, path, dry_run=True)[0])
                                 for kind, path in whole_files(tmp_path)]
    english, french = outputs["en"], outputs["fr"]
    assert all(english) and [len(p) for p in english] == [len(p) for p in french]
    # The statements' places keep their line in both languages ("ligne 7" / "line 7").
    assert [[line for line, _, _ in p] for p in english] == [[line for line, _, _ in p] for p in french]
    assert english[3][0][0] > 1
    found = [p for file in english for p in file]
    assert [p for p in found if FRENCH.search(p[1]) or FRENCH.search(p[2])] == []
    assert sum(bool(FRENCH.search(m)) for file in french for _, _, m in file) >= len(found) // 2


@pytest.mark.django_db(transaction=True)  # the command closes its connections, as from a shell
@pytest.mark.parametrize("language, expected", [
    ("fr", "f.csv:2: Raison sociale: raison sociale obligatoire pour un nouveau client"),
    ("en", "f.csv:2: Company name: company name required for a new customer"),
])
def test_the_command_speaks_the_default_language(org, tmp_path, settings, capsys, language, expected):
    settings.LANGUAGE_CODE = language  # RELANCE_LANGUAGE
    translation.deactivate()  # a command has no user: nothing is active but the default
    path = tmp_path / "f.csv"
    path.write_text(BAD_FILES["customers"][0], encoding="utf-8")
    with pytest.raises(SystemExit) as refused:
        main(["relance", "import", "customers", str(path), "--org", "abc"])
    err = capsys.readouterr().err
    assert refused.value.code == 1 and expected in err
    refusal = {"fr": "import refusé, rien n'a été écrit (1 problème)",
               "en": "import refused, nothing was written (1 problem)"}[language]
    assert refusal in err


# -- web import jobs: the language of the user who started them ------------------------------------------

BAD = INVOICES + "F001;C001;15/01/2026;14/02/2026;1 200,00\nF002;C001;31/02/2026;19/02/2026;douze\n"


@pytest.fixture
def inline_imports(settings):
    settings.RELANCE_IMPORT_BACKGROUND = False


def upload(client, content: str) -> str:
    answer = client.post("/o/abc/imports/", {"kind": "invoices", "file": SimpleUploadedFile("f.csv", content.encode())})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    return answer.url.rstrip("/").rsplit("/", 1)[1]


@pytest.mark.parametrize("language, expected, unexpected", [
    ("en", ["no such date: &#x27;31/02/2026&#x27;", "invalid amount: &#x27;douze&#x27;"], "inexistante"),
    ("fr", ["date inexistante: &#x27;31/02/2026&#x27;", "montant invalide: &#x27;douze&#x27;"], "no such date"),
])
def test_a_web_import_speaks_the_language_of_its_user(client, alice, customer, inline_imports, language, expected,
                                                      unexpected):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language  # what the language switch sets
    client.force_login(alice)
    job = upload(client, BAD)
    body = client.get(f"/o/abc/imports/{job}/").content.decode()
    for message in expected:
        assert message in body
    assert unexpected not in body
    report = b"".join(client.get(f"/o/abc/imports/{job}/rejets.csv").streaming_content).decode("utf-8-sig")
    header = {"en": "file;line;column;message", "fr": "fichier;ligne;colonne;message"}[language]
    assert report.splitlines()[0] == header


def test_a_job_runs_in_its_creators_language_whatever_the_thread_speaks(alice, customer, inline_imports):
    org = customer.organisation
    with translation.override("en"):
        job = import_jobs.create_job(org, "invoices", SimpleUploadedFile("f.csv", BAD.encode()), user=alice)
    assert job.language == "en"
    with translation.override("fr"):  # a background thread, or another user's request
        import_jobs.start(job, dry_run=True, user=alice)
        assert translation.get_language() == "fr"
    messages = [p["message"] for p in import_jobs.load_job(org, job.id).result["errors"]]
    assert messages == ["no such date: '31/02/2026'", "invalid amount: 'douze'"]


def test_a_job_written_before_the_language_was_kept_speaks_the_default(alice, customer, inline_imports):
    org = customer.organisation
    with translation.override("en"):
        job = import_jobs.create_job(org, "invoices", SimpleUploadedFile("f.csv", BAD.encode()), user=alice)
    data = json.loads((job.folder / "job.json").read_text(encoding="utf-8"))
    del data["language"]
    (job.folder / "job.json").write_text(json.dumps(data), encoding="utf-8")
    old = import_jobs.load_job(org, job.id)
    assert old.language == "" and old.speaks == settings.LANGUAGE_CODE == "fr"
    with translation.override("en"):
        import_jobs.start(old, dry_run=True, user=alice)
    messages = [p["message"] for p in import_jobs.load_job(org, job.id).result["errors"]]
    assert messages == ["date inexistante: '31/02/2026'", "montant invalide: 'douze'"]
