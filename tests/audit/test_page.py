"""The "Journal d'audit" page: owners only, newest first, filters, pages of 50, under the site's CSP."""

from __future__ import annotations

from datetime import date

import pytest

from relance.audit.log import Event, record_many
from relance.dunning import actions

URL = "/o/abc/journal/"


@pytest.fixture
def logged(org, alice, customer, make_invoice):
    invoice = make_invoice(number="F-777")
    actions.open_dispute(invoice, "colis abîmé", user=alice)
    actions.pause_customer(customer, date(2099, 1, 1), "négociation", user=alice)
    return invoice


def test_the_owner_sees_the_entries_newest_first(client, alice, logged):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("customer.paused") < html.index("dispute.opened")
    assert "F-777" in html and "colis abîmé" in html and "alice" in html
    assert "script-src" in response["Content-Security-Policy"] or "default-src" in response["Content-Security-Policy"]
    assert 'href="/o/abc/journal/"' in html  # in the nav


def test_filters_by_kind_and_object(client, alice, logged):
    client.force_login(alice)
    html = client.get(URL, {"kind": "dispute.opened"}).content.decode()
    assert "colis abîmé" in html and "négociation" not in html
    html = client.get(URL, {"object": "customer", "label": "C001"}).content.decode()
    assert "négociation" in html and "colis abîmé" not in html


def test_pages_of_fifty(client, alice, org):
    record_many(org, [Event("note.added", "note", str(i), f"N{i:03d}", None, {"i": i}) for i in range(1, 61)])
    client.force_login(alice)
    first = client.get(URL).content.decode()
    assert "N060" in first and "N010" not in first and 'rel="next"' in first
    second = client.get(URL, {"page": 2}).content.decode()
    assert "N010" in second and "N060" not in second and 'rel="next"' not in second


@pytest.mark.parametrize("who", ["bob", "victor"])
def test_collectors_and_viewers_may_not_read_it(client, request, org, logged, who, django_user_model):
    from relance.accounts.models import Membership

    if who == "victor":
        user = django_user_model.objects.create_user("victor", "v@abc.fr", "pw")
        Membership.objects.create(user=user, organisation=org, role="viewer")
    else:
        user = request.getfixturevalue("bob")
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert 'href="/o/abc/journal/"' not in client.get("/o/abc/relances/").content.decode()


def test_another_organisation_sees_nothing(client, charlie, logged):
    client.force_login(charlie)
    assert client.get(URL).status_code == 404
    assert client.get("/o/xyz/journal/").content.decode().count("dispute.opened") == 0
