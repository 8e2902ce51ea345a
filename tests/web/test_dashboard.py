from __future__ import annotations

from datetime import date
from decimal import Decimal

import time_machine

from relance.ledger.models import Customer, Invoice


def test_it_asks_anonymous_visitors_to_log_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@time_machine.travel("2026-07-15 10:00 +0200")
def test_alice_sees_the_aged_balance_of_her_organisation(client, alice, make_invoice):
    make_invoice("1000.00", due=date(2026, 7, 20))  # not due
    make_invoice("200.00", due=date(2026, 6, 30))  # 15 days late
    make_invoice("50.00", due=date(2026, 3, 1))  # 90+ days
    client.force_login(alice)
    response = client.get("/")
    assert response.status_code == 200
    aged = dict(response.context["rows"])
    (org_aged,) = aged.values()
    assert org_aged["not_due"] == Decimal("1000.00")
    assert org_aged["d1_30"] == Decimal("200.00")
    assert org_aged["d90_plus"] == Decimal("50.00")
    assert org_aged["total"] == Decimal("1250.00")
    assert "ABC Consulting" in response.content.decode()


def test_charlie_sees_nothing_of_alices_organisation(client, alice, charlie, org, make_invoice):
    make_invoice("999.00")
    client.force_login(charlie)
    body = client.get("/").content.decode()
    assert "ABC Consulting" not in body
    assert "XYZ Industrie" in body
    assert Customer.objects.filter(organisation=org).exists()
    assert Invoice.objects.filter(organisation=org).count() == 1
