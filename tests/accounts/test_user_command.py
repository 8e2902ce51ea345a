"""relance user add: members of an organisation, and the instance's operators (--superuser)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

STRONG = "correct-horse-battery"


def add(*args) -> str:
    out = StringIO()
    call_command("user", "add", *args, stdout=out)
    return out.getvalue()


def test_an_owner_is_a_member_not_an_admin(org):
    add("alice", "--org", "abc", "--role", "owner", "--password", STRONG)
    alice = get_user_model().objects.get(username="alice")
    assert not alice.is_staff and not alice.is_superuser
    assert alice.check_password(STRONG)


def test_superuser_makes_an_instance_operator(org):
    add("root", "--org", "abc", "--role", "owner", "--password", STRONG, "--superuser")
    root = get_user_model().objects.get(username="root")
    assert root.is_staff and root.is_superuser


def test_staff_is_refused_with_the_way_to_do_it(org):
    with pytest.raises(CommandError) as refused:
        add("alice", "--org", "abc", "--role", "owner", "--password", STRONG, "--staff")
    assert "use --superuser for an instance operator; organisation members manage their organisation with the " \
           "CLI/web app" in str(refused.value)
    assert not get_user_model().objects.filter(username="alice").exists()


@pytest.mark.parametrize("weak", ["a", "12345678901", "password123", "alice-abc"])
def test_a_weak_password_is_refused_and_no_user_is_created(org, weak):
    with pytest.raises(CommandError, match="password refused for alice"):
        add("alice", "--org", "abc", "--role", "owner", "--password", weak, "--email", "alice@abc.fr")
    assert not get_user_model().objects.filter(username="alice").exists()


def test_a_weak_password_leaves_an_existing_user_as_it_was(org, alice):
    with pytest.raises(CommandError, match="password refused"):
        add("alice", "--org", "abc", "--role", "viewer", "--password", "a")
    alice.refresh_from_db()
    assert alice.check_password("alice-pw")
    assert alice.memberships.get().role == "owner"
