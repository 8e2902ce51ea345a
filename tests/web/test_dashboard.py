"""The entry point and the walls between organisations (the dashboard's content: tests/web/test_dashboard_page.py)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation

from relance.web.templatetags.relance_format import day, money, percent


def test_it_asks_anonymous_visitors_to_log_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_the_root_opens_the_users_organisation(client, alice):
    client.force_login(alice)
    response = client.get("/")
    assert response.status_code == 302 and response.url == "/o/abc/"


def test_the_root_opens_the_last_organisation_opened(client, alice, other_org):
    from relance.accounts.models import Membership

    Membership.objects.create(user=alice, organisation=other_org, role="viewer")
    client.force_login(alice)
    assert client.get("/o/xyz/").status_code == 200
    assert client.get("/").url == "/o/xyz/"


def test_charlie_gets_a_404_for_anything_of_alices_organisation(client, alice, charlie, customer):
    client.force_login(charlie)
    assert client.get("/o/abc/").status_code == 404
    assert client.get(f"/o/abc/clients/{customer.pk}/").status_code == 404
    assert client.get("/o/xyz/").status_code == 200


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, customer):
    response = client.get(f"/o/abc/clients/{customer.pk}/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_amounts_dates_and_shares_are_written_for_people():
    with translation.override("fr"):
        assert money(Decimal("1181759.36")) == "1\u202f181\u202f759,36\u00a0€"
        assert percent(Decimal("0.255")) == "26\u00a0%"
        assert money(None) == "—"
    with translation.override("en"):
        assert money(Decimal("1181759.36")) == "€1,181,759.36"
    from datetime import date

    with translation.override("fr"):
        assert day(date(2026, 12, 3)) == "3 déc. 2026"
