"""The Django admin is the fallback editor: every model is there and its pages open."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin

OUR_APPS = {"accounts", "ledger", "dunning", "channels"}


def test_every_model_is_registered_in_the_admin():
    models = [m for m in apps.get_models() if m._meta.app_label in OUR_APPS and not m._meta.auto_created]
    missing = [m.__name__ for m in models if m not in admin.site._registry]
    assert missing == []


@pytest.fixture
def staff(alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    return alice


@pytest.mark.parametrize("model", sorted(
    (m for m in apps.get_models() if m._meta.app_label in OUR_APPS and not m._meta.auto_created),
    key=lambda m: m.__name__,
), ids=lambda m: m.__name__)
def test_the_admin_list_and_add_pages_open(client, staff, customer, make_invoice, model):
    make_invoice()
    client.force_login(staff)
    meta = model._meta
    assert client.get(f"/admin/{meta.app_label}/{meta.model_name}/").status_code == 200
    assert client.get(f"/admin/{meta.app_label}/{meta.model_name}/add/").status_code == 200
