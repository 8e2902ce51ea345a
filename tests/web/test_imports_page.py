"""The imports page: upload, column mapping preview with a dry run, the import with its progress, the
problems by line (nothing written on refusal), the size limit, and the walls between organisations."""

from __future__ import annotations

import io
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from relance.ledger import import_jobs
from relance.ledger.models import Customer, ImportBatch, Invoice

pytestmark = pytest.mark.django_db

HEADER = "Numéro de facture;Code client;Raison sociale;Date de facture;Date d'échéance;Montant TTC\n"
GOOD = HEADER + (
    "F001;C001;Dupont SARL;15/01/2026;14/02/2026;1 200,00\n"
    "F002;C001;Dupont SARL;20/01/2026;19/02/2026;600,00\n"
)
BAD = HEADER + (
    "F001;C001;Dupont SARL;15/01/2026;14/02/2026;1 200,00\n"
    "F002;C001;Dupont SARL;31/02/2026;19/02/2026;600,00\n"
    "F003;C001;Dupont SARL;20/01/2026;19/02/2026;douze\n"
)


@pytest.fixture(autouse=True)
def inline_imports(settings):
    """Runs in the request (the background thread is tested on its own below)."""
    settings.RELANCE_IMPORT_BACKGROUND = False


def upload(client, content: bytes | str, name="factures.csv", kind="invoices"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post("/o/abc/imports/", {"kind": kind, "file": SimpleUploadedFile(name, data)})


def job_of(response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return response.url.rstrip("/").rsplit("/", 1)[1]


def test_the_page_lists_past_imports_and_offers_the_upload_to_writers(client, alice, org):
    ImportBatch.objects.create(organisation=org, kind="invoices", filename="export-mai.csv", sha256="0" * 64,
                               created=1234)
    client.force_login(alice)
    body = client.get("/o/abc/imports/").content.decode()
    assert "export-mai.csv" in body and "1\u202f234" in body
    assert 'type="file"' in body and 'enctype="multipart/form-data"' in body
    assert '<label for="id_file">' in body and '<label for="id_kind">' in body


def test_a_viewer_sees_no_upload_and_cannot_post(client, victor, org):
    client.force_login(victor)
    body = client.get("/o/abc/imports/").content.decode()
    assert 'type="file"' not in body
    assert upload(client, GOOD).status_code == 403
    assert not Invoice.objects.exists()


def test_charlie_gets_404(client, charlie, alice, customer):
    client.force_login(alice)
    job = job_of(upload(client, GOOD))
    client.force_login(charlie)
    assert client.get("/o/abc/imports/").status_code == 404
    assert client.get(f"/o/abc/imports/{job}/").status_code == 404
    # His own organisation does not know alice's job either.
    assert client.get(f"/o/xyz/imports/{job}/").status_code == 404
    assert client.get(f"/o/xyz/imports/{job}/progression/").status_code == 404
    assert client.post(f"/o/xyz/imports/{job}/", {"action": "import"}).status_code == 404
    assert not Invoice.objects.exists()


def test_upload_shows_the_mapping_and_the_dry_run_then_imports(client, bob, customer):
    client.force_login(bob)
    job = job_of(upload(client, GOOD))
    assert not Invoice.objects.exists()  # the dry run wrote nothing
    body = client.get(f"/o/abc/imports/{job}/").content.decode()
    # Each column of the file with the field it goes to, and the first rows.
    assert "Numéro de facture" in body and "Montant TTC" in body and "F002" in body and "1 200,00" in body
    assert 'id="map-0"' in body and "Dry run: no problem" in body or "Essai : aucun problème" in body
    assert 'name="action" value="import"' in body
    response = client.post(f"/o/abc/imports/{job}/", {"action": "import"})
    assert response.status_code == 302
    assert sorted(Invoice.objects.values_list("number", flat=True)) == ["F001", "F002"]
    assert Invoice.objects.get(number="F001").total == Decimal("1200.00")
    batch = ImportBatch.objects.get()
    assert (batch.filename, batch.created) == ("factures.csv", 2)
    body = client.get(f"/o/abc/imports/{job}/").content.decode()
    assert 'value="import"' not in body  # imported once only
    assert client.post(f"/o/abc/imports/{job}/", {"action": "import"}).status_code == 302
    assert Invoice.objects.count() == 2 and ImportBatch.objects.count() == 1


def test_problems_are_shown_by_line_and_nothing_is_written(client, alice, customer):
    client.force_login(alice)
    job = job_of(upload(client, BAD))
    body = client.get(f"/o/abc/imports/{job}/").content.decode()
    assert 'value="import"' not in body  # no import button after a refused dry run
    rows = body.split('<table class="problems">')[1]
    assert "factures.csv" in rows and "<td class=\"num\">3</td>" in rows and "<td class=\"num\">4</td>" in rows
    assert "Date de facture" in rows and "Montant TTC" in rows
    # Even forced, the import refuses to start without a clean dry run.
    client.post(f"/o/abc/imports/{job}/", {"action": "import"})
    assert not Invoice.objects.exists() and not ImportBatch.objects.exists()
    report = client.get(f"/o/abc/imports/{job}/rejets.csv")
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "fichier;ligne;colonne;message"
    assert [line.split(";")[:3] for line in lines[1:]] == [
        ["factures.csv", "3", "Date de facture"], ["factures.csv", "4", "Montant TTC"]]


def test_a_column_can_be_mapped_by_hand(client, alice, customer):
    content = GOOD.replace("Montant TTC", "Total à payer")
    client.force_login(alice)
    job = job_of(upload(client, content))
    body = client.get(f"/o/abc/imports/{job}/").content.decode()
    assert "montant TTC ou HT obligatoire" in body and "ignorée" in body
    columns = import_jobs.preview(import_jobs.load_job(customer.organisation, job)).columns
    index = next(c["index"] for c in columns if c["header"] == "Total à payer")
    client.post(f"/o/abc/imports/{job}/", {"action": "check", f"map-{index}": "total"})
    saved = import_jobs.load_job(customer.organisation, job)
    assert saved.mapping == {"Total à payer": "total"} and saved.result["ok"]
    client.post(f"/o/abc/imports/{job}/", {"action": "import"})
    assert Invoice.objects.get(number="F002").total == Decimal("600.00")


def test_an_xlsx_file_of_customers(client, alice, org):
    book = Workbook()
    sheet = book.active
    sheet.append(["Code client", "Raison sociale", "Ville"])
    sheet.append(["K1", "Martin SA", "Lyon"])
    sheet.append(["K2", "Durand SAS", "Nantes"])
    buffer = io.BytesIO()
    book.save(buffer)
    client.force_login(alice)
    job = job_of(upload(client, buffer.getvalue(), name="clients.xlsx", kind="customers"))
    body = client.get(f"/o/abc/imports/{job}/").content.decode()
    assert "Martin SA" in body and "Durand SAS" in body
    client.post(f"/o/abc/imports/{job}/", {"action": "import"})
    assert dict(Customer.objects.filter(organisation=org).values_list("external_id", "city")) == {
        "K1": "Lyon", "K2": "Nantes"}


def test_a_file_over_the_limit_is_refused_with_a_clear_message(client, alice, settings, customer):
    settings.RELANCE_IMPORT_MAX_BYTES = 100
    folder = import_jobs.jobs_root(customer.organisation_id)
    before = set(folder.glob("*")) if folder.exists() else set()
    client.force_login(alice)
    response = upload(client, GOOD)
    assert response.status_code == 400
    body = response.content.decode()
    assert "100\xa0octets" in body or "100\xa0bytes" in body
    assert (set(folder.glob("*")) if folder.exists() else set()) == before  # nothing kept
    # A body far over the limit is refused before the form is read.
    response = upload(client, GOOD * 2000)
    assert response.status_code == 413 and "100\xa0octets" in response.content.decode()
    assert not Invoice.objects.exists()


def test_an_unsupported_file_type_is_refused(client, alice):
    client.force_login(alice)
    response = upload(client, "%PDF-1.4", name="factures.pdf")
    assert response.status_code == 400 and "CSV ou XLSX" in response.content.decode()


def test_the_progress_endpoint_polls_while_running_and_stops_when_done(client, alice, customer):
    client.force_login(alice)
    job_id = job_of(upload(client, GOOD))
    job = import_jobs.load_job(customer.organisation, job_id)
    job.state, job.done, job.total = import_jobs.IMPORTING, 40, 160
    job.save()
    fragment = client.get(f"/o/abc/imports/{job_id}/progression/").content.decode()
    assert 'hx-trigger="every 1s"' in fragment and '<progress id="import-progress" max="100" value="25">' in fragment
    assert "<html" not in fragment
    job.state = import_jobs.CHECKED
    job.save()
    fragment = client.get(f"/o/abc/imports/{job_id}/progression/").content.decode()
    assert "hx-trigger" not in fragment and "<progress" not in fragment


def test_the_background_thread_runs_the_import_and_reports_progress(settings, alice, customer, transactional_db):
    settings.RELANCE_IMPORT_BACKGROUND = True
    org = customer.organisation
    rows = "".join(f"F{i:05d};C001;Dupont SARL;15/01/2026;14/02/2026;100,00\n" for i in range(3000))
    job = import_jobs.create_job(org, "invoices", SimpleUploadedFile("big.csv", (HEADER + rows).encode()), user=alice)
    import_jobs.start(job, dry_run=False, user=alice)
    deadline = time.monotonic() + 60
    while import_jobs.load_job(org, job.id).running and time.monotonic() < deadline:
        time.sleep(0.1)
    done = import_jobs.load_job(org, job.id)
    assert done.state == import_jobs.IMPORTED and done.percent == 100, done
    assert done.result["created"] == 3000
    assert Invoice.objects.filter(organisation=org).count() == 3000


def test_a_viewer_cannot_start_a_job_through_the_module(victor, customer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_jobs.create_job(customer.organisation, "invoices", SimpleUploadedFile("f.csv", GOOD.encode()),
                               user=victor)


def test_the_page_stays_cheap_with_many_batches(client, alice, org, django_assert_max_num_queries):
    ImportBatch.objects.bulk_create([
        ImportBatch(organisation=org, kind="payments", filename=f"releve-{i}.csv", sha256="0" * 64) for i in range(60)
    ])
    client.force_login(alice)
    with django_assert_max_num_queries(12):
        body = client.get("/o/abc/imports/").content.decode()
    assert body.count("releve-") == 20


def test_a_job_left_running_by_a_dead_process_is_shown_as_interrupted(client, alice, customer):
    client.force_login(alice)
    job_id = job_of(upload(client, GOOD))
    job = import_jobs.load_job(customer.organisation, job_id)
    job.state, job.pid = import_jobs.IMPORTING, 2**22 + 12345  # above Linux's pid_max: no such process
    job.save()
    fragment = client.get(f"/o/abc/imports/{job_id}/progression/").content.decode()
    assert "hx-trigger" not in fragment and "import interrompu" in fragment
    assert import_jobs.load_job(customer.organisation, job_id).state == import_jobs.FAILED
