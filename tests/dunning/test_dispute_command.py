"""relance dispute open|close|list, and open_dispute()/close_dispute()."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from relance.dunning.actions import DunningError, close_dispute, open_dispute
from relance.dunning.models import Dispute
from relance.ledger.balances import refresh
from tests.schedule_support import next_date_of

pytestmark = pytest.mark.django_db


def run(day: str) -> list[dict]:
    out = StringIO()
    call_command("run_dunning", "--org", "abc", "--date", day, "--json", "--no-send", stdout=out)
    return json.loads(out.getvalue())


def dispute(*args) -> str:
    out = StringIO()
    call_command("dispute", *args, stdout=out)
    return out.getvalue()


def test_a_disputed_invoice_is_not_reminded_until_the_dispute_is_closed(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    run("2026-06-29")
    dispute("open", "--org", "abc", "--invoice", "F1", "--reason", "Prestation non conforme")
    inv.refresh_from_db()
    assert (inv.status, inv.open_balance, next_date_of(inv)) == ("disputed", inv.total, None)
    assert run("2026-07-06") == [] and run("2026-07-13") == []
    dispute("close", "--org", "abc", "--invoice", "F1", "--resolution", "Avoir refusé, facture due")
    inv.refresh_from_db()
    assert inv.status == "open"
    # It resumes at the next step (first reminder), which is long due: today.
    assert [m["step"] for m in run("2026-07-20")] == ["first"]


def test_the_disputed_status_survives_a_balance_refresh(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    open_dispute(inv, "Quantités erronées")
    refresh([inv.pk])
    inv.refresh_from_db()
    assert inv.status == "disputed"


def test_opening_twice_returns_the_open_dispute(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    assert open_dispute(inv, "A") == open_dispute(inv, "B")
    assert Dispute.objects.count() == 1


def test_closing_without_an_open_dispute_is_refused(scenarios, customer, make_invoice):
    inv = make_invoice(number="F1")
    with pytest.raises(DunningError, match="aucun litige ouvert"):
        close_dispute(inv)
    with pytest.raises(CommandError, match="aucun litige ouvert"):
        dispute("close", "--org", "abc", "--invoice", "F1")


def test_a_dispute_needs_a_reason(scenarios, customer, make_invoice):
    with pytest.raises(DunningError, match="motif"):
        open_dispute(make_invoice(number="F1"), "  ")


def test_the_list_shows_open_disputes_and_all_with_all(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    make_invoice(number="F2", due=date(2026, 7, 30))
    dispute("open", "--org", "abc", "--invoice", "F1", "--reason", "Non livré")
    dispute("open", "--org", "abc", "--invoice", "F2", "--reason", "Doublon")
    dispute("close", "--org", "abc", "--invoice", "F2")
    assert dispute("list", "--org", "abc").splitlines() == ["F1\tC001\topen\tNon livré"]
    assert len(dispute("list", "--org", "abc", "--all").splitlines()) == 2
