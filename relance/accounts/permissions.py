"""Who may do what in an organisation: one check, called at the top of every action that takes a user.

`user=None` is the system (the daily run, a cron job, the CLI operator): always allowed. A superuser is
an instance operator (the Django admin is theirs only): allowed too. Everyone else needs a membership
of the organisation whose role grants the permission.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from relance.accounts.models import Membership, Organisation, Role

WRITE = "write"  # ledger and dunning actions: payments, promises, disputes, plans, pauses, approvals, tasks
SETTINGS = "settings"  # organisation settings, transports, templates, scenarios
MEMBERS = "members"  # who belongs to the organisation, with which role

GRANTS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset({WRITE, SETTINGS, MEMBERS}),
    Role.COLLECTOR: frozenset({WRITE}),
    Role.VIEWER: frozenset(),
}

DESCRIPTIONS = {
    WRITE: "modifier les comptes clients et les relances",
    SETTINGS: "modifier les réglages, les transports, les modèles et les scénarios",
    MEMBERS: "gérer les membres",
}


def role_of(user, org: Organisation | int) -> str | None:
    """The user's role in this organisation, None when not a member."""
    org_id = org if isinstance(org, int) else org.pk
    return Membership.objects.filter(user=user, organisation_id=org_id).values_list("role", flat=True).first()


def allows(user, org: Organisation | int, perm: str) -> bool:
    if perm not in DESCRIPTIONS:
        raise ValueError(f"permission inconnue {perm!r} ; attendu : {', '.join(DESCRIPTIONS)}")
    if user is None or getattr(user, "is_superuser", False):
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    role = role_of(user, org)
    return role is not None and perm in GRANTS.get(role, frozenset())


def require(user, org: Organisation | int, perm: str) -> None:
    """Raise PermissionDenied (with a French message) unless `user` may `perm` in `org`."""
    if allows(user, org, perm):
        return
    org_id = org if isinstance(org, int) else org.pk
    slug = Organisation.objects.filter(pk=org_id).values_list("slug", flat=True).first() or org_id
    role = role_of(user, org)
    who = f"{user.username} ({Role(role).label})" if role else f"{user.username} (non membre)"
    raise PermissionDenied(f"{who} : pas le droit de {DESCRIPTIONS[perm]} dans l'organisation {slug}")
