"""Insolvency from the admin, through relance.dunning.actions.open_insolvency / close_insolvency.

These actions are the lead's (being written at the same time): this file passes once both branches
are merged, and fails before (AttributeError: no open_insolvency) — on purpose, not skipped.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.web.admin_support import action_url

pytestmark = pytest.mark.django_db


def test_an_insolvency_is_opened_and_closed_from_the_customer_page(client, root, customer):
    client.force_login(root)
    response = client.post(action_url(customer, "insolvency-open"),
                           {"judgment_date": "2026-06-15", "kind": "redressement"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.in_insolvency, customer.insolvency_date, customer.insolvency_kind) == (
        True, date(2026, 6, 15), "redressement")
    assert "Procédure collective" in client.get("/admin/ledger/customer/").content.decode()
    assert client.post(action_url(customer, "insolvency-close")).status_code == 302
    customer.refresh_from_db()
    assert customer.in_insolvency is False


def test_the_customer_form_does_not_write_the_insolvency_fields(client, root, customer):
    client.force_login(root)
    page = client.get(f"/admin/ledger/customer/{customer.pk}/change/").content.decode()
    assert 'name="in_insolvency"' not in page and 'name="insolvency_date"' not in page
