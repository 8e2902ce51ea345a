"""Recovery costs: recorded through the actions (audited, role-checked), counted by the claim beyond the
fixed indemnity (never from a consumer), carried by the Cerfa data, the escalation documents and the
evidence dossier, and by `relance costs`."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from pypdf import PdfReader

from relance.audit.log import entries_for
from relance.channels.escalation.documents import produce
from relance.cli import main
from relance.dossier.build import build_dossier
from relance.dossier.claim import compute_claim
from relance.dunning import queries
from relance.dunning.actions import DunningError, record_cost, remove_cost
from relance.dunning.models import RecoveryCost
from tests.dossier.conftest import DAY, pdf


def _text(content: bytes) -> str:
    return " ".join(" ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(content)).pages).split())


@pytest.fixture
def viewer(org, django_user_model):
    from relance.accounts.models import Membership

    user = django_user_model.objects.create_user("vera", "vera@abc-consulting.fr", "vera-pw")
    Membership.objects.create(user=user, organisation=org, role="viewer")
    return user


@pytest.fixture
def costs(customer, bob):
    """180 EUR of commissaire de justice fees with its invoice, 70 EUR of registered letters: 250 EUR."""
    bailiff = record_cost(customer, date(2026, 8, 20), "bailiff", Decimal("180.00"), "Signification",
                          document=("facture-cj.pdf", pdf("Note d'honoraires")), user=bob)
    postage = record_cost(customer, date(2026, 8, 10), "postage", Decimal("70.00"), "LRAR", user=bob)
    return bailiff, postage


def test_a_recorded_cost_is_stored_with_its_document_and_audited(org, customer, bob, costs):
    bailiff, _postage = costs
    bailiff.refresh_from_db()
    assert (bailiff.amount, bailiff.kind, bailiff.created_by) == (Decimal("180.00"), "bailiff", bob)
    assert bailiff.document.name.startswith("costs/") and bailiff.document.open("rb").read().startswith(b"%PDF")
    entries = [e for e in entries_for(org, customer=customer) if e.kind == "cost.recorded"]
    assert [(e.actor, e.data["amount"], e.data["kind"]) for e in entries] == [
        ("bob", "180.00", "bailiff"), ("bob", "70.00", "postage")]
    remove_cost(bailiff, user=bob)
    assert not RecoveryCost.objects.filter(pk=bailiff.pk).exists()
    removed = entries_for(org, customer=customer)[-1]
    assert (removed.kind, removed.data["amount"], removed.data["label"]) == ("cost.removed", "180.00", "Signification")


def test_only_members_who_write_record_or_remove_costs(org, customer, viewer, charlie, costs):
    for user in (viewer, charlie):
        with pytest.raises(PermissionDenied):
            record_cost(customer, DAY, "court", Decimal("35.00"), user=user)
        with pytest.raises(PermissionDenied):
            remove_cost(costs[0], user=user)
    assert RecoveryCost.objects.count() == 2


def test_it_refuses_a_cost_that_is_not_one(customer, other_org, bob, make_invoice):
    from relance.ledger.models import Customer

    stranger = Customer.objects.create(organisation=customer.organisation, external_id="C999", name="Autre")
    foreign = make_invoice(cust=stranger)
    for kwargs in ({"amount": Decimal("0")}, {"kind": "lunch"}, {"invoice": foreign},
                   {"document": ("vide.pdf", b"")}):
        args = {"day": DAY, "kind": "court", "amount": Decimal("10.00"), **kwargs}
        with pytest.raises(DunningError):
            record_cost(customer, user=bob, **args)
    assert not RecoveryCost.objects.exists()


def test_a_business_owes_the_costs_beyond_the_indemnity(customer, make_invoice, costs):
    first = make_invoice(total="1500.00", due=date(2026, 6, 30))
    second = make_invoice(total="300.00", due=date(2026, 7, 10))
    claim = compute_claim("business", [first, second], DAY, queries.list_costs(customer.organisation, customer))
    assert claim.costs_incurred == Decimal("250.00") and claim.indemnity == Decimal("80.00")
    assert claim.costs == Decimal("170.00")  # 250 − 2 × 40
    assert claim.total == claim.principal + claim.interest + Decimal("80.00") + Decimal("170.00")
    # A cost dated after the claim's day is not counted on that day.
    later = compute_claim("business", [first], date(2026, 8, 15), queries.list_costs(customer.organisation, customer,
                                                                                      until=date(2026, 8, 15)))
    assert (later.costs_incurred, later.costs) == (Decimal("70.00"), Decimal("30.00"))


def test_a_consumer_is_charged_no_recovery_costs(customer, make_invoice, costs):
    customer.kind = "consumer"
    customer.save()
    inv = make_invoice(total="900.00", due=date(2026, 6, 30))
    claim = compute_claim("consumer", [inv], DAY, queries.list_costs(customer.organisation, customer))
    assert (claim.costs_incurred, claim.indemnity, claim.costs) == (Decimal("250.00"), Decimal("0.00"),
                                                                    Decimal("0.00"))
    assert claim.total == claim.principal + claim.interest
    assert "L111-8" in claim.recovery.basis


def test_a_cost_about_another_invoice_stays_out_of_an_escalation_about_these(customer, make_invoice, bob):
    first, second = make_invoice(total="500.00"), make_invoice(total="600.00")
    record_cost(customer, DAY, "court", Decimal("100.00"), invoice=second, user=bob)
    record_cost(customer, DAY, "postage", Decimal("60.00"), user=bob)
    costs = queries.list_costs(customer.organisation, customer)
    assert compute_claim("business", [first], DAY, costs).costs_incurred == Decimal("60.00")
    assert compute_claim("business", [first, second], DAY, costs).costs_incurred == Decimal("160.00")


def test_the_cerfa_data_and_its_pdf_carry_the_costs(org, customer, make_invoice, costs):
    inv = make_invoice(total="1500.00", due=date(2026, 6, 30))
    produced = produce("order_for_payment", org, customer, [inv], DAY)
    files = {a.name: a.content for a in produced.attachments}
    fields = json.loads(files["injonction-de-payer-C001-cerfa-12948-06.json"])
    creance = fields["creance"]
    assert creance["frais"] == "210.00" and creance["indemnite_forfaitaire"] == "40.00"
    assert creance["frais_recouvrement"]["exposes"] == "250.00"
    assert creance["frais_recouvrement"]["indemnite_forfaitaire_deduite"] == "40.00"
    assert "L441-10 II" in creance["frais_recouvrement"]["base"]
    assert [d["nature"] for d in creance["frais_recouvrement"]["detail"]] == ["postage", "bailiff"]
    assert Decimal(creance["total"]) == (Decimal(creance["principal"]) + Decimal(creance["interets"]["montant"])
                                         + Decimal("40.00") + Decimal("210.00"))
    assert any("Justificatif de frais" in p and "Signification" in p for p in fields["pieces"])
    text = _text(files["injonction-de-payer-C001.pdf"])
    assert "Frais de recouvrement complémentaires" in text and "210,00" in text and "250,00" in text


def test_the_agency_gets_the_costs_and_the_small_claims_letter_shows_them(org, customer, make_invoice, costs):
    inv = make_invoice(total="900.00", due=date(2026, 6, 30))
    agency = {a.name: a.content for a in produce("collection_agency", org, customer, [inv], DAY).attachments}
    rows = list(csv.reader(io.StringIO(agency["agence-recouvrement-C001-frais.csv"].decode("utf-8-sig")),
                           delimiter=";"))
    assert rows[0][:3] == ["date", "kind", "label"]
    assert [(r[1], r[5]) for r in rows[1:]] == [
        ("postage", "70.00"), ("bailiff", "180.00"), ("total_incurred", "250.00"),
        ("fixed_indemnity_deducted", "40.00"), ("complementary_claimed", "210.00")]
    letter = produce("small_claims", org, customer, [inv], DAY)
    assert "Frais de recouvrement complémentaires" in _text(letter.attachments[0].content)
    assert letter.claim.costs == Decimal("210.00")


def test_the_dossier_states_the_costs_and_holds_their_documents(org, customer, make_invoice, costs):
    make_invoice(total="1500.00", due=date(2026, 6, 30))
    data = build_dossier(org, customer, DAY)
    archive = zipfile.ZipFile(io.BytesIO(data))
    bailiff = costs[0]
    path = f"costs/2026-08-20-{bailiff.pk}-{bailiff.document.name.rsplit('/', 1)[-1]}"
    assert archive.read(path) == bailiff.document.open("rb").read()
    manifest = json.loads(archive.read("manifest.json"))
    assert path in {e["path"] for e in manifest["files"]}
    assert (manifest["recovery_costs_incurred"], manifest["recovery_costs_claimed"]) == ("250.00", "210.00")
    text = _text(archive.read("summary.pdf"))
    for expected in ("Frais de recouvrement", "Signification", "250,00", "210,00", "L441-10 II", path):
        assert expected in text, expected
    assert data == build_dossier(org, customer, DAY)


def relance(*args: str) -> int:
    try:
        return main(["relance", "costs", *args])
    except SystemExit as exc:
        return exc.code


@pytest.mark.django_db(transaction=True)
def test_the_command_adds_and_lists_costs(org, customer, bob, tmp_path, capsys, make_invoice):
    inv = make_invoice()
    proof = tmp_path / "frais.pdf"
    proof.write_bytes(pdf("Frais de greffe"))
    assert relance("add", "--org", "abc", "--customer", "C001", "--date", "2026-09-01", "--kind", "court",
                   "--amount", "35,50", "--label", "greffe", "--invoice", inv.number, "--file", str(proof),
                   "--user", "bob") == 0
    cost = RecoveryCost.objects.get()
    assert (cost.amount, cost.invoice, cost.created_by, cost.label) == (Decimal("35.50"), inv, bob, "greffe")
    assert cost.document.open("rb").read() == proof.read_bytes()
    assert "recorded for C001: 35.50 EUR" in capsys.readouterr().out
    assert relance("list", "--org", "abc", "--customer", "C001", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["customer"], r["kind"], r["amount"], r["invoice"]) for r in listed] == [
        ("C001", "court", "35.50", inv.number)]
    assert relance("add", "--org", "abc", "--customer", "C001", "--date", "2026-09-01", "--kind", "court",
                   "--amount", "-3") == 1
    assert relance("add", "--org", "abc", "--customer", "C001", "--date", "2026-09-01", "--kind", "lunch",
                   "--amount", "3") == 2
    assert relance("add", "--org", "abc", "--customer", "C001", "--date", "2026-09-01", "--kind", "court",
                   "--amount", "3", "--file", str(tmp_path / "none.pdf")) == 1
    assert RecoveryCost.objects.count() == 1
