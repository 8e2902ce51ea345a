"""The dossier holds the documents of earlier escalation steps; the commissaire de justice of the
organisation's settings is named in the small-claims letter and the dossier's parties."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date

import pytest
from pypdf import PdfReader

from relance.channels.delivery import deliver_pending
from relance.channels.escalation.channel import stored_paths
from relance.channels.escalation.documents import produce
from relance.dossier.build import build_dossier
from tests.channels.email_support import make_reminder

DAY = date(2026, 9, 15)


def _text(content: bytes) -> str:
    return " ".join(" ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(content)).pages).split())


@pytest.fixture
def escalated(org, alice, customer, make_invoice):
    """An order for payment and an agency file produced by earlier escalation steps."""
    invoices = [make_invoice(total="1500.00", due=date(2026, 6, 30)),
                make_invoice(total="300.00", due=date(2026, 7, 10))]
    reminders = [make_reminder(org, customer, invoices, template=kind, step=f"escalation-{n}", channel="escalation",
                               run_date=date(2026, 9, n), tone="formal", approved_by=alice)
                 for n, kind in ((1, "order_for_payment"), (2, "collection_agency"))]
    assert deliver_pending(org).sent == 2
    return reminders


def test_the_dossier_holds_the_earlier_escalation_documents(org, customer, escalated):
    data = build_dossier(org, customer, DAY)
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = {e["path"]: e["sha256"] for e in json.loads(archive.read("manifest.json"))["files"]}
    order, agency = escalated
    expected = {f"escalations/2026-09-01-{order.pk}-order_for_payment/{p.name}": p for p in stored_paths(order)}
    expected |= {f"escalations/2026-09-02-{agency.pk}-collection_agency/{p.name}": p for p in stored_paths(agency)}
    assert {p.name for p in expected.values()} == {"injonction-de-payer-C001.pdf",
                                                   "injonction-de-payer-C001-cerfa-12948-06.json",
                                                   "agence-recouvrement-C001.csv"}
    for path, stored in expected.items():
        assert archive.read(path) == stored.read_bytes(), path
        assert manifest[path] == hashlib.sha256(stored.read_bytes()).hexdigest()
    summary = _text(archive.read("summary.pdf"))
    assert "Documents d'escalade et justificatifs" in summary
    assert all(path.rsplit("/", 1)[-1] in summary for path in expected)
    assert data == build_dossier(org, customer, DAY)  # byte-identical for the same data


def test_a_document_changed_on_disk_since_the_step_is_left_out(org, customer, escalated):
    order = escalated[0]
    tampered = next(p for p in stored_paths(order) if p.suffix == ".json")
    tampered.write_bytes(b"{}")
    names = zipfile.ZipFile(io.BytesIO(build_dossier(org, customer, DAY))).namelist()
    assert not any(n.endswith(tampered.name) for n in names)
    assert any(n.endswith("injonction-de-payer-C001.pdf") for n in names)


def test_the_small_claims_letter_names_the_commissaire_de_justice_once_set(org, customer, make_invoice):
    inv = make_invoice(total="900.00", due=date(2026, 6, 30))
    blank = produce("small_claims", org, customer, [inv], DAY)
    text = _text(blank.attachments[0].content)
    assert "Maître …" in text and "Compléter le nom du commissaire" in blank.text
    org.commissaire_name, org.commissaire_address = "Jeanne Martin", "SCP Martin\n3 quai Saint-Antoine\n69002 Lyon"
    org.save()
    named = produce("small_claims", org, customer, [inv], DAY)
    text = _text(named.attachments[0].content)
    assert "Maître Jeanne Martin, commissaire de justice" in text and "3 quai Saint-Antoine" in text
    assert "…………" not in text.split("Créancier")[0]
    assert "Maître Jeanne Martin" in named.text and "Compléter" not in named.text


def test_the_dossier_names_the_commissaire_de_justice_only_when_set(org, customer, make_invoice):
    make_invoice(total="900.00", due=date(2026, 6, 30))
    summary = _text(zipfile.ZipFile(io.BytesIO(build_dossier(org, customer, DAY))).read("summary.pdf"))
    assert "Commissaire de justice" not in summary
    org.commissaire_name, org.commissaire_address = "Jeanne Martin", "3 quai Saint-Antoine\n69002 Lyon"
    org.save()
    summary = _text(zipfile.ZipFile(io.BytesIO(build_dossier(org, customer, DAY))).read("summary.pdf"))
    assert "Commissaire de justice" in summary and "Jeanne Martin" in summary
    assert "3 quai Saint-Antoine, 69002 Lyon" in summary
