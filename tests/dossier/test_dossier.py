"""The evidence dossier of a crafted customer, opened with zipfile and checked file by file."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pytest
from pypdf import PdfReader

from relance.channels.context import build_customer_context
from relance.channels.templates import format_money
from relance.cli import main
from relance.dossier.build import build_dossier
from tests.dossier.conftest import DAY


def _open(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def _text(content: bytes) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(content)).pages)


def test_every_file_is_in_the_manifest_with_its_sha256_and_size(org, customer, history):
    archive = _open(build_dossier(org, customer, DAY))
    names = archive.namelist()
    manifest = json.loads(archive.read("manifest.json"))
    listed = {e["path"]: e for e in manifest["files"]}
    assert set(listed) == set(names) - {"manifest.json", "manifest.sha256"}
    for path, entry in listed.items():
        content = archive.read(path)
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), path
        assert entry["size"] == len(content), path
    sums = archive.read("manifest.sha256").decode().splitlines()
    assert sums == [f"{e['sha256']}  {e['path']}" for e in manifest["files"]]
    assert names == sorted(names[:-2]) + ["manifest.json", "manifest.sha256"]


def test_it_holds_every_document(org, customer, history):
    archive = _open(build_dossier(org, customer, DAY))
    names = archive.namelist()
    first, second = history["invoices"]
    assert archive.read(f"invoices/{first.number}.pdf") == first.document.open("rb").read()
    assert f"invoices/{second.number}.pdf" in names
    mail, letter = history["mail"], history["letter"]
    mail_dir = f"reminders/2026-07-10-{mail.pk}-email"
    receipt = json.loads(archive.read(f"{mail_dir}/receipt.json"))
    assert receipt["message_id"] and receipt["message_id"] == mail.message_id
    assert receipt["provider_response"] == mail.provider_response and receipt["state"] == "sent"
    assert archive.read(f"{mail_dir}/message.txt").decode().startswith(mail.subject)
    assert archive.read(f"{mail_dir}/message.html").decode() == mail.body_html
    # The invoice sent with the e-mail: the very bytes whose SHA-256 the reminder recorded.
    sent = {a["sha256"] for a in mail.attachments}
    kept = [n for n in names if n.startswith(f"{mail_dir}/attachments/")]
    assert kept and {hashlib.sha256(archive.read(n)).hexdigest() for n in kept} <= sent
    letter_dir = f"reminders/2026-08-10-{letter.pk}-letter"
    letter_receipt = json.loads(archive.read(f"{letter_dir}/receipt.json"))
    assert letter_receipt["registered_number"] == "1A23456789012"
    assert letter_receipt["acknowledged_on"] == "2026-08-13"
    pdfs = [n for n in names if n.startswith(f"{letter_dir}/attachments/")]
    assert pdfs and "1A23456789012" not in pdfs[0]
    assert hashlib.sha256(archive.read(pdfs[0])).hexdigest() == letter.attachments[0]["sha256"]
    calls = list(csv.DictReader(io.StringIO(archive.read("calls.csv").decode("utf-8-sig")), delimiter=";"))
    assert [(c["outcome"], c["note"], c["promised_date"]) for c in calls] == [
        ("reached_promise", "le DAF promet un virement", "2027-01-15")]
    visits = archive.read("portal/visits.csv").decode("utf-8-sig").splitlines()
    assert len(visits) == 2 and ";home;" in visits[1]
    requests = list(csv.DictReader(io.StringIO(archive.read("portal/requests.csv").decode("utf-8-sig")),
                                   delimiter=";"))
    assert requests[0]["kind"] == "paid" and requests[0]["proof"].startswith("portal/proofs/")
    assert archive.read(requests[0]["proof"]) == history["request"].proof.open("rb").read()


def test_the_summary_states_parties_invoices_chronology_and_the_notice_s_own_claim(org, customer, history):
    archive = _open(build_dossier(org, customer, DAY))
    text = " ".join(_text(archive.read("summary.pdf")).split())
    for expected in ("ABC Consulting", "732829320", "73282932000074", "FR44732829320", "Dupont SARL", "552100554",
                     "Relevé de compte", "Chronologie", "Total réclamé", "Promesse", "Portail"):
        assert expected in text, expected
    first, second = history["invoices"]
    assert first.number in text and second.number in text
    # The claim of the summary is the formal notice's, computed by the same function.
    context = build_customer_context(org, customer, [first, second], "fr", today=DAY)
    claimed = format_money(context["claim"]["total"], "EUR", "fr")
    assert " ".join(claimed.split()) in text
    assert json.loads(archive.read("manifest.json"))["total_claimed"] == str(context["claim"]["total"])


def test_the_same_data_gives_the_same_bytes(org, customer, history):
    assert build_dossier(org, customer, DAY) == build_dossier(org, customer, DAY)


def relance(*args: str) -> int:
    try:
        return main(["relance", "dossier", *args])
    except SystemExit as exc:
        return exc.code


# The command closes the database connections when it ends, as from a shell: outside a wrapping transaction.
@pytest.mark.django_db(transaction=True)
def test_the_command_writes_the_zip(org, customer, history, tmp_path, capsys):
    out = tmp_path / "d.zip"
    assert relance("--org", "abc", "--customer", "C001", "--out", str(out), "--date", "2026-09-15") == 0
    assert out.read_bytes() == build_dossier(org, customer, DAY)
    assert relance("--org", "abc", "--customer", "NOPE", "--out", str(out)) == 1
    assert "--customer 'NOPE'" in capsys.readouterr().err
    assert relance("--org", "abc", "--customer", "C001", "--out", str(tmp_path / "no" / "d.zip")) == 1
    assert "does not exist" in capsys.readouterr().err
