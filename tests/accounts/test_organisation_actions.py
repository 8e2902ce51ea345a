"""Organisation settings, transports and members, through relance.accounts.actions."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from relance.accounts.actions import remove_member, set_member, set_transport, update_organisation
from relance.accounts.models import Membership

pytestmark = pytest.mark.django_db


def test_settings_are_validated_as_the_model_does(org, alice):
    with pytest.raises(ValidationError) as refused:
        update_organisation(org, {"iban": "FR1420041010050500013M02607"}, user=alice)
    assert "iban" in refused.value.message_dict
    update_organisation(org, {"run_hour": 7}, user=alice)
    org.refresh_from_db()
    assert org.run_hour == 7


def test_the_slug_and_transports_are_not_plain_settings(org, alice):
    with pytest.raises(ValidationError, match="réglage inconnu ou non modifiable ici : email_url, slug"):
        update_organisation(org, {"slug": "autre", "email_url": "console:"}, user=alice)


def test_a_transport_is_checked_before_it_is_kept(org, alice):
    set_transport(org, "sms", "console:", user=alice)
    org.refresh_from_db()
    assert org.sms_url == "console:"
    with pytest.raises(ValidationError, match="unknown scheme 'ftp'"):
        set_transport(org, "email", "ftp://host", user=alice)
    set_transport(org, "sms", "", user=alice)
    org.refresh_from_db()
    assert org.sms_url == ""


def test_the_last_owner_can_neither_leave_nor_step_down(org, alice, bob):
    with pytest.raises(ValidationError, match="il faut au moins un propriétaire"):
        remove_member(org, alice, user=alice)
    with pytest.raises(ValidationError, match="il faut au moins un propriétaire"):
        set_member(org, alice, "collector", user=alice)
    set_member(org, bob, "owner", user=alice)
    set_member(org, alice, "viewer", user=bob)
    assert dict(Membership.objects.values_list("user__username", "role")) == {"alice": "viewer", "bob": "owner"}
