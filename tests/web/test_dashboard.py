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


def test_every_member_opens_the_organisation_and_customer_pages(client, alice, bob, victor, customer, make_invoice):
    make_invoice("321.00", number="F-321")
    for user in (alice, bob, victor):
        client.force_login(user)
        page = client.get("/o/abc/")
        assert page.status_code == 200 and "F-321" in page.content.decode()
        detail = client.get(f"/o/abc/clients/{customer.pk}/")
        assert detail.status_code == 200 and "Dupont SARL" in detail.content.decode()


def test_charlie_gets_a_404_for_anything_of_alices_organisation(client, alice, charlie, customer, make_invoice):
    make_invoice("321.00")
    client.force_login(charlie)
    assert client.get("/o/abc/").status_code == 404
    assert client.get(f"/o/abc/clients/{customer.pk}/").status_code == 404
    # Nor through his own organisation's address.
    assert client.get(f"/o/xyz/clients/{customer.pk}/").status_code == 404
    assert client.get("/o/xyz/").status_code == 200


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, customer):
    response = client.get(f"/o/abc/clients/{customer.pk}/")
    assert response.status_code == 302 and response.url.startswith("/login/")
