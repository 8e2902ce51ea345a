"""The imports page with whole files: a FEC, bank statements (CAMT, OFX, MT940) and e-invoices (Factur-X PDF,
CII, UBL), recognised from their content. Real samples (tests/ledger/samples, as the importers' own tests)
and generated files: dry run, import, what the ledger holds after, a second import adding nothing, and
files that are none of them or broken, refused with their name and nothing written."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from relance.audit.models import AuditEntry
from relance.ledger import import_jobs
from relance.ledger.importers.statements.generate import Entry, write_camt
from relance.ledger.models import Allocation, CreditNote, Customer, EInvoice, ImportBatch, Invoice, Payment

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parent.parent / "ledger" / "samples"
FEC = SAMPLES / "fec" / "111111111FEC20221231.TXT"
WHOLE = import_jobs.AUTO


@pytest.fixture(autouse=True)
def inline_imports(settings):
    settings.RELANCE_IMPORT_BACKGROUND = False


@pytest.fixture
def moulin(org):
    """The seller of the French e-invoice samples: 'Au bon moulin', SIREN 999999998."""
    org.legal_name, org.siren, org.vat_number = "Au bon moulin", "999999998", "FR11999999998"
    org.save()
    return org


def sample(name: str) -> Path:
    path = SAMPLES / name
    assert path.is_file(), path  # a missing sample fails, never skips
    return path


def upload(client, content: bytes, name: str, kind: str = WHOLE):
    return client.post("/o/abc/imports/", {"kind": kind, "file": SimpleUploadedFile(name, content)})


def job_of(response) -> str:
    assert response.status_code == 302, response.content.decode()[:3000]
    return response.url.rstrip("/").rsplit("/", 1)[1]


def job(org, job_id: str) -> import_jobs.Job:
    return import_jobs.load_job(org, job_id)


def check_then_import(client, org, path: Path, kind: str = WHOLE) -> tuple[import_jobs.Job, import_jobs.Job]:
    """Upload (the dry run starts at once), then import; both states of the job."""
    job_id = job_of(upload(client, path.read_bytes(), path.name, kind))
    checked = job(org, job_id)
    assert checked.state == import_jobs.CHECKED and checked.result["dry_run"], checked
    response = client.post(f"/o/abc/imports/{job_id}/", {"action": "import"})
    assert response.status_code == 302
    return checked, job(org, job_id)


def ledger() -> tuple[int, ...]:
    return (Customer.objects.count(), Invoice.objects.count(), CreditNote.objects.count(), Payment.objects.count(),
            Allocation.objects.count(), EInvoice.objects.count())


# --- FEC -------------------------------------------------------------------------------------------------

def test_a_fec_is_recognised_checked_then_imported_once(client, alice, org):
    client.force_login(alice)
    job_id = job_of(upload(client, FEC.read_bytes(), FEC.name))
    checked = job(org, job_id)
    assert checked.kind == "fec" and checked.result["ok"], checked.result
    assert checked.result["created"] > 0 and ledger() == (0, 0, 0, 0, 0, 0)
    page = client.get(f"/o/abc/imports/{job_id}/").content.decode()
    assert "Export comptable (FEC)" in page and "Import for real" not in page  # French, no column mapping
    assert 'name="action" value="import"' in page and "map-0" not in page

    client.post(f"/o/abc/imports/{job_id}/", {"action": "import"})
    imported = job(org, job_id)
    assert imported.state == import_jobs.IMPORTED and imported.result["created"] == checked.result["created"]
    assert Customer.objects.count() == 34 and CreditNote.objects.count() == 5
    first = Invoice.objects.get(number="VE 0123/00000001")
    assert (first.customer.external_id, first.total, first.open_balance) == ("41101590", Decimal("74.70"),
                                                                             Decimal("0.00"))
    batch = ImportBatch.objects.get()
    assert (batch.kind, batch.filename, batch.pk) == ("fec", FEC.name, imported.result["batch_id"])
    assert AuditEntry.objects.filter(kind="import.batch", object_id=str(batch.pk)).count() == 1
    past = client.get("/o/abc/imports/").content.decode()
    assert FEC.name in past and "Export comptable (FEC)" in past

    before = ledger()
    _, again = check_then_import(client, org, FEC)
    assert (again.result["created"], again.result["updated"]) == (0, 0)
    assert again.result["unchanged"] == imported.result["created"]
    assert ledger() == before


# --- bank statements -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "fmt", "created"), [
    ("camt053/test-camt053", "camt", 1),  # no extension, as banks send them
    ("camt053/test-camt053-txdtls", "camt", 2),
    ("camt053/test-camt053.zip", "camt", None),
    ("camt054/camt054.v8.xml", "camt", None),
    ("ofx/checking.ofx", "ofx", None),
    ("mt940/test-rabo.swi", "mt940", 1),
    ("mt940/sepa_snippet.sta", "mt940", None),
])
def test_each_real_statement_imports_its_credits_once(client, alice, org, name, fmt, created):
    client.force_login(alice)
    path = sample(name)
    checked, imported = check_then_import(client, org, path)
    assert checked.kind == "statement" and checked.result["details"]["format"] == fmt
    assert checked.result["ok"] and checked.result["errors"] == []
    if created is not None:
        assert imported.result["created"] == created
    assert imported.state == import_jobs.IMPORTED
    assert imported.result["created"] == checked.result["created"] == Payment.objects.count()
    assert ImportBatch.objects.get().kind == "statement"
    assert "matched" in imported.result["details"] and "matched" not in checked.result["details"]

    _, again = check_then_import(client, org, path)
    assert again.result["created"] == 0 and again.result["unchanged"] == imported.result["created"]
    assert Payment.objects.count() == imported.result["created"]


def camt(entries: list[Entry]) -> bytes:
    import io

    out = io.StringIO()
    write_camt(out, entries)
    return out.getvalue().encode("utf-8")


def test_a_statement_is_matched_to_the_invoices_and_the_page_says_so(client, alice, org, make_invoice):
    invoice = make_invoice(total="100.00", number="FA-2026-0001")
    data = camt([Entry(Decimal("100.00"), date(2026, 7, 1), remittance="FA-2026-0001", payer="DUPONT"),
                 Entry(Decimal("5.00"), date(2026, 7, 2), remittance="rien", payer="MARTIN"),
                 Entry(Decimal("40.00"), date(2026, 7, 2), credit=False, remittance="loyer")])
    client.force_login(alice)
    job_id = job_of(upload(client, data, "releve-juillet.xml"))
    page = client.get(f"/o/abc/imports/{job_id}/").content.decode()
    assert ("Relevé bancaire (CAMT) — lignes lues : 3 ; paiements reçus : 2 ; déjà importés : 0 ; "
            "débits ignorés : 1") in page
    assert not Payment.objects.exists()

    client.post(f"/o/abc/imports/{job_id}/", {"action": "import"})
    details = job(org, job_id).result["details"]
    assert details["matched"] == {"applied": 1, "queued": 1, "allocated": "100.00"}
    assert Invoice.objects.get(pk=invoice.pk).open_balance == Decimal("0.00")
    assert Payment.objects.filter(allocations__invoice=invoice).get().amount == Decimal("100.00")
    page = client.get(f"/o/abc/imports/{job_id}/").content.decode()
    assert "Rapprochement : 1 paiements affectés à leurs factures, 1 à vérifier." in page
    assert 'href="/o/abc/rapprochement/"' in page
    past = client.get("/o/abc/imports/").content.decode()
    assert "releve-juillet.xml" in past and "Relevé bancaire" in past

    job_of(upload(client, data, "releve-juillet-bis.xml"))
    assert Payment.objects.count() == 2 and Allocation.objects.count() == 1


def test_a_broken_statement_is_refused_with_its_place_and_cannot_be_imported(client, alice, org):
    data = (b":20:X\r\n:25:FR7630006000011234567890189\r\n:28C:1\r\n:60F:C260101EUR0,00\r\n"
            b":61:2601010101CXYZ\r\n:86:?20Test\r\n:62F:C260101EUR0,00\r\n-")
    client.force_login(alice)
    job_id = job_of(upload(client, data, "releve.sta"))
    refused = job(org, job_id)
    assert refused.kind == "statement" and not refused.result["ok"]
    assert refused.result["errors"] == [
        {"line": 5, "field": ":61: ligne 5", "message": "ligne d'écriture illisible: '2601010101CXYZ'"}]
    page = client.get(f"/o/abc/imports/{job_id}/").content.decode()
    assert "ligne d&#x27;écriture illisible" in page and 'value="import"' not in page
    client.post(f"/o/abc/imports/{job_id}/", {"action": "import"})
    assert job(org, job_id).state == import_jobs.CHECKED
    report = client.get(f"/o/abc/imports/{job_id}/rejets.csv")
    assert "releve.sta;5;:61: ligne 5;" in b"".join(report.streaming_content).decode("utf-8-sig")
    assert not Payment.objects.exists() and not ImportBatch.objects.exists()


# --- e-invoices ------------------------------------------------------------------------------------------

def test_a_facturx_pdf_becomes_an_invoice_with_its_document_once(client, alice, moulin):
    path = sample("Facture_FR_BASICWL.pdf")
    client.force_login(alice)
    checked, imported = check_then_import(client, moulin, path)
    assert checked.kind == "facturx" and checked.result["created"] == 1 and checked.result["ok"]
    assert checked.result["details"]["documents"] == [
        {"number": "FA-2017-0010", "what": "invoice", "action": "created", "note": "déjà payé 201.00 EUR"}]
    # The buyer's SIRET fails its check digit: a warning with its element, the invoice imported all the same.
    assert any("78787878400035" in w["message"] for w in imported.result["warnings"])
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.total, invoice.open_balance) == ("FA-2017-0010", Decimal("671.15"),
                                                                     Decimal("470.15"))
    with invoice.document.open("rb") as fh:
        assert fh.read() == path.read_bytes()
    batch = ImportBatch.objects.get()
    assert batch.kind == "einvoices" and AuditEntry.objects.filter(kind="import.batch",
                                                                    object_id=str(batch.pk)).exists()
    page = client.get(f"/o/abc/imports/{imported.id}/").content.decode()
    assert "FA-2017-0010" in page and "78787878400035" in page

    _, again = check_then_import(client, moulin, path)
    assert (again.result["created"], again.result["unchanged"]) == (0, 1)
    assert Invoice.objects.count() == 1 and EInvoice.objects.count() == 1


@pytest.mark.parametrize(("name", "kind", "number"), [
    ("ubl-21-en16931.xml", "ubl", "F124212"),
    ("factur-x-basic.xml", "cii", "F20260023"),
])
def test_cii_and_ubl_invoices_are_recognised_and_imported(client, alice, moulin, name, kind, number):
    moulin.siren = moulin.vat_number = ""  # any seller
    moulin.save()
    client.force_login(alice)
    checked, imported = check_then_import(client, moulin, sample(name))
    assert checked.kind == kind and not Invoice.objects.filter(pk__lt=0).exists()
    assert imported.state == import_jobs.IMPORTED and Invoice.objects.get().number == number
    _, again = check_then_import(client, moulin, sample(name))
    assert again.result["unchanged"] == 1 and Invoice.objects.count() == 1


def test_a_ubl_credit_note_is_recognised(client, alice, org):
    org.siren = org.vat_number = ""
    org.save()
    client.force_login(alice)
    checked, imported = check_then_import(client, org, sample("ubl-tc434-creditnote1.xml"))
    assert checked.result["details"]["documents"][0]["what"] == "credit_note"
    assert imported.state == import_jobs.IMPORTED and CreditNote.objects.count() == 1


def test_an_einvoice_of_another_seller_is_refused_by_file_and_writes_nothing(client, alice, org):
    client.force_login(alice)  # org: SIREN 732829320, the samples' seller is 999999998
    job_id = job_of(upload(client, sample("ubl-21-en16931.xml").read_bytes(), "ubl-21-en16931.xml"))
    refused = job(org, job_id)
    assert refused.kind == "ubl" and not refused.result["ok"] and refused.result["created"] == 0
    assert refused.result["error_count"] == 1
    assert ledger() == (0, 0, 0, 0, 0, 0) and not ImportBatch.objects.exists()


def test_a_pdf_without_an_embedded_invoice_names_the_problem(client, alice, org):
    client.force_login(alice)
    job_id = job_of(upload(client, b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n", "scan.pdf"))
    refused = job(org, job_id)
    assert refused.kind == "facturx" and not refused.result["ok"]
    assert "PDF" in refused.result["errors"][0]["message"]
    assert not Invoice.objects.exists() and not ImportBatch.objects.exists()


# --- refusals, permissions, the background thread ---------------------------------------------------------

@pytest.mark.parametrize(("name", "content"), [
    ("notes.txt", b"hello, world\n"),
    ("factures.csv", "Numéro de facture;Montant TTC\nF001;12,00\n".encode()),
    ("donnees.xml", b"<?xml version='1.0'?><root><a>1</a></root>"),
    ("releve.ofx", bytes(range(256)) * 4),
])
def test_a_file_of_no_known_format_is_refused_by_name_and_leaves_nothing(client, alice, org, name, content):
    client.force_login(alice)
    root = import_jobs.jobs_root(org.pk)
    before = set(root.iterdir()) if root.exists() else set()
    response = upload(client, content, name)
    body = response.content.decode()
    assert response.status_code == 400
    assert f"{name} : fichier non reconnu" in body and "ni un FEC" in body
    assert (set(root.iterdir()) if root.exists() else set()) == before  # the upload is not kept
    assert not ImportBatch.objects.exists() and ledger() == (0, 0, 0, 0, 0, 0)


def test_an_unsupported_suffix_is_refused_by_name(client, alice):
    client.force_login(alice)
    response = upload(client, b"\x89PNG\r\n", "photo.png")
    assert response.status_code == 400 and "photo.png : format non pris en charge" in response.content.decode()


def test_a_viewer_cannot_upload_nor_import_a_whole_file(client, alice, victor, charlie, org):
    client.force_login(victor)
    assert upload(client, FEC.read_bytes(), FEC.name).status_code == 403
    client.force_login(alice)
    job_id = job_of(upload(client, FEC.read_bytes(), FEC.name))
    client.force_login(victor)
    assert client.post(f"/o/abc/imports/{job_id}/", {"action": "import"}).status_code == 403
    client.force_login(charlie)
    assert client.get(f"/o/abc/imports/{job_id}/").status_code == 404
    assert not ImportBatch.objects.exists() and ledger() == (0, 0, 0, 0, 0, 0)


def test_the_progress_of_a_whole_file_has_no_percentage(client, alice, org):
    client.force_login(alice)
    job_id = job_of(upload(client, sample("camt053/test-camt053").read_bytes(), "test-camt053"))
    running = job(org, job_id)
    running.state = import_jobs.IMPORTING
    running.save()
    fragment = client.get(f"/o/abc/imports/{job_id}/progression/").content.decode()
    assert '<progress id="import-progress" max="100"></progress>' in fragment and "%" not in fragment


def test_the_background_thread_imports_a_whole_file(settings, alice, org, transactional_db):
    settings.RELANCE_IMPORT_BACKGROUND = True
    new = import_jobs.create_job(org, WHOLE, SimpleUploadedFile(FEC.name, FEC.read_bytes()), user=alice)
    assert new.kind == "fec"
    import_jobs.start(new, dry_run=False, user=alice)
    deadline = time.monotonic() + 120
    while job(org, new.id).running and time.monotonic() < deadline:
        time.sleep(0.1)
    done = job(org, new.id)
    assert done.state == import_jobs.IMPORTED and done.result["ok"], done
    assert Customer.objects.filter(organisation=org).count() == 34


def test_a_statement_uploaded_as_payments_is_read_as_one(client, alice, org):
    client.force_login(alice)  # as `relance import payments RELEVE`
    path = sample("mt940/ASNB-mt940.txt")
    checked, imported = check_then_import(client, org, path, kind="payments")
    assert checked.kind == "statement" and checked.result["details"]["format"] == "mt940"
    assert imported.result["created"] == Payment.objects.count() > 0


def test_a_table_kind_given_an_xml_file_points_to_the_whole_file_choice(client, alice):
    client.force_login(alice)
    response = upload(client, sample("ubl-21-en16931.xml").read_bytes(), "facture.xml", kind="invoices")
    body = response.content.decode()
    assert response.status_code == 400 and "CSV ou XLSX" in body and "relevé bancaire ou facture" in body
