"""Web and admin fixtures: root (the instance operator) and victor (a viewer, shared with the accounts tests)."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import victor  # noqa: F401 - the viewer


@pytest.fixture
def root(db, django_user_model):
    """The operator of the instance (relance user add … --superuser): the only one the admin lets in."""
    return django_user_model.objects.create_superuser("root", "root@relance.example", "root-pw")
