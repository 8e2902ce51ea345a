"""Organisation writes: settings, transports and members, each checked against the acting user's role."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from relance.accounts.models import Membership, Organisation, Role
from relance.accounts.permissions import MEMBERS, SETTINGS, require
from relance.channels.registry import get_backend
from relance.lib.secrets import redact

# What update_organisation() may change: not the slug (the CLI's handle), not the transports
# (set_transport(), which checks the URL).
SETTINGS_FIELDS = {
    "legal_name", "siren", "siret", "vat_number", "address_line1", "address_line2", "postcode", "city", "country",
    "iban", "bic", "sender_email", "phone", "currency", "time_zone", "language", "min_reminder_amount",
    "small_amount_threshold", "run_hour",
}
TRANSPORT_FIELDS = {"email": "email_url", "sms": "sms_url"}


@transaction.atomic
def update_organisation(org: Organisation, changes: dict[str, Any], user=None) -> Organisation:
    """Change the organisation's settings (validated as the model does: SIREN, IBAN...)."""
    require(user, org, SETTINGS)
    unknown = sorted(set(changes) - SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(f"réglage inconnu ou non modifiable ici : {', '.join(unknown)}")
    # Changed on a fresh copy: a refused change leaves the caller's object as it was.
    fresh = Organisation.objects.select_for_update().get(pk=org.pk)
    for name, value in changes.items():
        setattr(fresh, name, value)
    fresh.full_clean()
    fresh.save()
    for name in changes:
        setattr(org, name, getattr(fresh, name))
    return org


@transaction.atomic
def set_transport(org: Organisation, family: str, url: str, user=None) -> Organisation:
    """Set (or with "" reset to the instance's) the e-mail or SMS transport URL of the organisation."""
    require(user, org, SETTINGS)
    if family not in TRANSPORT_FIELDS:
        raise ValidationError(f"transport inconnu {family!r} ; attendu : {', '.join(TRANSPORT_FIELDS)}")
    url = url.strip()
    check_transport(family, url)
    setattr(org, TRANSPORT_FIELDS[family], url)
    org.save(update_fields=[TRANSPORT_FIELDS[family]])
    return org


def check_transport(family: str, url: str) -> None:
    """Raise ValidationError (the URL's secrets masked) when this transport URL cannot be used."""
    if not url:
        return
    try:
        get_backend(family, url)  # parses the URL only: no connection is opened
    except (ValueError, ImportError) as exc:
        # The message may quote the URL: never its password.
        raise ValidationError(f"{TRANSPORT_FIELDS[family]} : {redact(str(exc), [url])}")


@transaction.atomic
def set_member(org: Organisation, member, role: str, user=None) -> Membership:
    """Give `member` this role in the organisation (adding them when needed)."""
    require(user, org, MEMBERS)
    if role not in Role.values:
        raise ValidationError(f"rôle inconnu {role!r} ; attendu : {', '.join(Role.values)}")
    current = Membership.objects.filter(organisation=org, user=member).first()
    if current is not None and current.role == Role.OWNER and role != Role.OWNER:
        _keep_an_owner(org, member)
    membership, _ = Membership.objects.update_or_create(organisation=org, user=member, defaults={"role": role})
    return membership


@transaction.atomic
def remove_member(org: Organisation, member, user=None) -> None:
    require(user, org, MEMBERS)
    membership = Membership.objects.filter(organisation=org, user=member).first()
    if membership is None:
        raise ValidationError(f"{member.username} n'est pas membre de {org.slug}")
    if membership.role == Role.OWNER:
        _keep_an_owner(org, member)
    membership.delete()


def _keep_an_owner(org: Organisation, leaving) -> None:
    others = Membership.objects.filter(organisation=org, role=Role.OWNER).exclude(user=leaving)
    if not others.exists():
        raise ValidationError(f"{org.slug} : il faut au moins un propriétaire ; nommez-en un autre d'abord")
