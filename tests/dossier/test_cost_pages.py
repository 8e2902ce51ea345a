"""The web side of recovery costs (the customer page's form, list, remove button and document download)
and of the commissaire de justice (the settings page)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from relance.audit.log import entries_for
from relance.dunning.models import RecoveryCost
from tests.dossier.conftest import pdf


@pytest.fixture
def viewer(org, django_user_model):
    from relance.accounts.models import Membership

    user = django_user_model.objects.create_user("vera", "vera@abc-consulting.fr", "vera-pw")
    Membership.objects.create(user=user, organisation=org, role="viewer")
    return user


def _add(client, customer, **changes):
    data = {"cost-date": "2026-09-01", "cost-kind": "bailiff", "cost-amount": "180.00", "cost-label": "Signification",
            "cost-invoice": "", "cost-document": SimpleUploadedFile("note.pdf", pdf("Honoraires"), "application/pdf")}
    data.update(changes)
    return client.post(f"/o/abc/clients/{customer.pk}/add-cost/", data)


def test_a_collector_records_a_cost_with_its_document_then_removes_it(client, org, bob, customer, make_invoice):
    inv = make_invoice()
    client.force_login(bob)
    page = client.get(f"/o/abc/clients/{customer.pk}/").content.decode()
    assert "Enregistrer un frais de recouvrement" in page and 'enctype="multipart/form-data"' in page
    assert "Aucun frais de recouvrement enregistré." in page
    response = _add(client, customer, **{"cost-invoice": str(inv.pk)})
    assert response.status_code == 302
    cost = RecoveryCost.objects.get()
    assert (cost.amount, cost.kind, cost.invoice, cost.created_by) == (Decimal("180.00"), "bailiff", inv, bob)
    assert cost.document.open("rb").read().startswith(b"%PDF")
    assert entries_for(org, customer=customer)[-1].kind == "cost.recorded"
    page = client.get(f"/o/abc/clients/{customer.pk}/").content.decode()
    assert "Signification" in page and "commissaire de justice (huissier)" in page and inv.number in page
    download = client.get(f"/o/abc/clients/{customer.pk}/frais/{cost.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")
    assert client.post(f"/o/abc/clients/{customer.pk}/remove-cost/", {"remove-cost": cost.pk}).status_code == 302
    assert not RecoveryCost.objects.exists()
    assert entries_for(org, customer=customer)[-1].kind == "cost.removed"


def test_a_refused_cost_says_why_and_records_nothing(client, bob, customer):
    client.force_login(bob)
    response = _add(client, customer, **{"cost-amount": "0"})
    assert response.status_code == 302 and not RecoveryCost.objects.exists()
    assert any(m.level_tag == "error" for m in get_messages(response.wsgi_request))


def test_a_viewer_sees_the_costs_but_cannot_change_them(client, org, viewer, bob, customer):
    client.force_login(bob)
    _add(client, customer)
    cost = RecoveryCost.objects.get()
    client.force_login(viewer)
    page = client.get(f"/o/abc/clients/{customer.pk}/").content.decode()
    assert "Signification" in page and "remove-cost" not in page and "add-cost" not in page
    assert _add(client, customer).status_code == 403
    assert client.post(f"/o/abc/clients/{customer.pk}/remove-cost/", {"remove-cost": cost.pk}).status_code == 403
    assert RecoveryCost.objects.count() == 1
    assert client.get(f"/o/abc/clients/{customer.pk}/frais/{cost.pk}/").status_code == 200


def test_another_organisation_sees_nothing_of_the_costs(client, bob, charlie, customer):
    client.force_login(bob)
    _add(client, customer)
    cost = RecoveryCost.objects.get()
    client.force_login(charlie)
    assert client.get(f"/o/abc/clients/{customer.pk}/frais/{cost.pk}/").status_code == 404
    assert client.get(f"/o/xyz/clients/{customer.pk}/frais/{cost.pk}/").status_code == 404
    assert client.post(f"/o/xyz/clients/{customer.pk}/remove-cost/", {"remove-cost": cost.pk}).status_code == 404
    assert RecoveryCost.objects.count() == 1


def test_the_owner_sets_the_commissaire_de_justice_in_the_settings(client, org, alice, bob):
    client.force_login(alice)
    page = client.get("/o/abc/reglages/").content.decode()
    assert 'value="commissaire"' in page and '<label for="id_cj-commissaire_name">' in page
    response = client.post("/o/abc/reglages/", {"section": "commissaire", "cj-commissaire_name": "Jeanne Martin",
                                                "cj-commissaire_address": "3 quai Saint-Antoine\r\n69002 Lyon"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.commissaire_name, org.commissaire_address) == ("Jeanne Martin", "3 quai Saint-Antoine\r\n69002 Lyon")
    assert entries_for(org)[-1].kind == "organisation.updated"
    client.force_login(bob)
    assert client.post("/o/abc/reglages/", {"section": "commissaire", "cj-commissaire_name": "X"}).status_code == 403
    org.refresh_from_db()
    assert org.commissaire_name == "Jeanne Martin"
