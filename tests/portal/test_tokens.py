"""The link is the key: a tampered or expired token, or one naming a customer outside its
organisation, answers 404 and shows nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from relance.portal.models import PortalVisit
from relance.portal.tokens import make_token, portal_path, read_token
from tests.portal.conftest import NOW

pytestmark = pytest.mark.django_db


def _shows_nothing(response, *secrets):
    assert response.status_code == 404
    text = response.content.decode()
    for secret in secrets:
        assert secret not in text


def test_a_token_names_its_organisation_customer_and_reminder():
    key = read_token(make_token(3, 14, 15))
    assert (key.organisation_id, key.customer_id, key.reminder_id) == (3, 14, 15)
    assert read_token(make_token(3, 14)).reminder_id is None


@time_machine.travel(NOW, tick=False)
def test_the_link_opens_the_customers_page(client, dupuis, link):
    response = client.get(link)
    assert response.status_code == 200
    assert "Dupuis SA" in response.content.decode()


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature
    lambda t: "x" + t[1:],  # the payload
    lambda t: t.split(":")[0],  # no signature at all
    lambda t: "nonsense",
])
@time_machine.travel(NOW, tick=False)
def test_a_tampered_token_answers_404_and_shows_nothing(client, dupuis, tamper):
    cust, _ = dupuis
    token = make_token(cust.organisation_id, cust.pk)
    response = client.get(f"/p/{tamper(token)}/")
    _shows_nothing(response, "Dupuis", "F1", "FR14")
    assert PortalVisit.objects.count() == 0


def test_a_token_signed_with_another_salt_is_refused(client, dupuis):
    from django.core import signing

    cust, _ = dupuis
    forged = signing.TimestampSigner(salt="another").sign_object({"o": cust.organisation_id, "c": cust.pk})
    _shows_nothing(client.get(f"/p/{forged}/"), "Dupuis")


def test_a_token_expires_after_ninety_days_by_default(client, dupuis):
    cust, _ = dupuis
    with time_machine.travel(NOW, tick=False):
        path = portal_path(cust.organisation_id, cust.pk)
    with time_machine.travel(NOW + timedelta(days=89), tick=False):
        assert client.get(path).status_code == 200
    with time_machine.travel(NOW + timedelta(days=91), tick=False):
        _shows_nothing(client.get(path), "Dupuis", "F1")


def test_the_lifetime_is_a_setting(client, dupuis, settings):
    settings.RELANCE_PORTAL_TOKEN_DAYS = 7
    cust, _ = dupuis
    with time_machine.travel(NOW, tick=False):
        path = portal_path(cust.organisation_id, cust.pk)
    with time_machine.travel(NOW + timedelta(days=8), tick=False):
        _shows_nothing(client.get(path), "Dupuis")


@time_machine.travel(NOW, tick=False)
def test_a_customer_of_another_organisation_answers_404(client, dupuis, other_org):
    from relance.ledger.models import Customer

    stranger = Customer.objects.create(organisation=other_org, external_id="X1", name="Étranger SAS")
    cust, _ = dupuis
    # ABC's organisation id with XYZ's customer, and XYZ's id with ABC's customer.
    _shows_nothing(client.get(portal_path(cust.organisation_id, stranger.pk)), "Étranger", "Dupuis")
    _shows_nothing(client.get(portal_path(other_org.pk, cust.pk)), "Dupuis", "F1")
    _shows_nothing(client.get(portal_path(cust.organisation_id, 999_999)), "Dupuis")


@time_machine.travel(NOW, tick=False)
def test_every_address_behind_a_bad_token_answers_404(client, dupuis):
    _, (f1, _) = dupuis
    assert client.get(f"/p/bad/invoices/{f1.pk}/pdf/").status_code == 404
    assert client.post("/p/bad/answer/paid/", {}).status_code == 404
