"""relance match run|review: the CLI around reconcile and the review actions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from relance.accounts.models import Organisation
from relance.ledger.models import Invoice, MatchProposal, Payment


def match(*args) -> str:
    out = StringIO()
    call_command("match", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def ledger(org, customer, make_invoice):
    paid = make_invoice(total="100.00", number="FA-2026-0001")
    other = make_invoice(total="300.00", number="FA-2026-0002")
    Payment.objects.create(organisation=org, date=date(2026, 7, 1), amount=Decimal("100.00"),
                           reference="FACT FA-2026-0001")
    unsure = Payment.objects.create(organisation=org, date=date(2026, 7, 2), amount=Decimal("42.00"),
                                    reference="virement", payer_name="Inconnu")
    return paid, other, unsure


def test_run_applies_the_sure_and_review_lists_the_rest(org, ledger, alice):
    paid, other, unsure = ledger
    assert match("run", "--org", "abc").startswith("1 payment(s) applied (100.00), 1 waiting for review")
    listing = match("review", "--org", "abc")
    proposal = MatchProposal.objects.get(payment=unsure)
    assert listing.startswith(f"{proposal.pk}\tproposed\t0\tpayment {unsure.pk}\t2026-07-02\t42.00\t?")
    assert "credit" not in listing

    out = match("review", "--org", "abc", "--assign", str(unsure.pk), "--invoice", "FA-2026-0002",
                "--user", "alice")
    assert out.strip() == f"payment {unsure.pk}: 42.00 to FA-2026-0002"
    assert Invoice.objects.get(pk=other.pk).open_balance == Decimal("258.00")
    assert match("review", "--org", "abc").strip() == "nothing waiting for review"


def test_review_rejects_and_refuses_twice(org, ledger):
    match("run", "--org", "abc")
    proposal = MatchProposal.objects.get(state="proposed")
    assert match("review", "--org", "abc", "--reject", str(proposal.pk)).strip() == f"proposal {proposal.pk}: rejected"
    with pytest.raises(CommandError, match="déjà rejetée"):
        match("review", "--org", "abc", "--confirm", str(proposal.pk))
    with pytest.raises(CommandError, match="no such proposal"):
        match("review", "--org", "abc", "--confirm", "999999")


def test_a_credit_is_listed_per_customer(org, customer, ledger):
    Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 3), amount=Decimal("15.00"))
    assert "credit\tC001\tDupont SARL\t15.00" in match("review", "--org", "abc")


def test_an_unknown_organisation_is_one_line(db):
    with pytest.raises(CommandError, match="^--org 'nope' : organisation inconnue \\(aucune encore : créez-en une"):
        match("run", "--org", "nope")
    Organisation.objects.create(slug="abc", legal_name="ABC")
    english = r"^--org 'nope': no such organisation \(known: abc\)$"
    with translation.override("en"), pytest.raises(CommandError, match=english):
        match("run", "--org", "nope")


def test_settings_set_the_threshold_and_oldest_first(org, ledger):
    assert match("settings", "--org", "abc").strip() == "threshold 80, oldest first on"
    assert match("settings", "--org", "abc", "--threshold", "101", "--oldest-first", "off").strip() == \
        "threshold 101, oldest first off"
    assert match("run", "--org", "abc").startswith("0 payment(s) applied")
    assert match("settings", "--org", "abc", "--threshold", "default").strip() == "threshold 80, oldest first off"
    with pytest.raises(CommandError, match="--threshold 'x'"):
        match("settings", "--org", "abc", "--threshold", "x")
