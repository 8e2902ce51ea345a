"""victor reads ABC Consulting's accounts (viewer), next to alice (owner), bob (collector) and charlie."""

from __future__ import annotations

import pytest


@pytest.fixture
def victor(org, django_user_model):
    from relance.accounts.models import Membership

    user = django_user_model.objects.create_user("victor", "victor@abc-consulting.fr", "victor-pw")
    Membership.objects.create(user=user, organisation=org, role="viewer")
    return user
