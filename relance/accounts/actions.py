"""Organisation writes: settings, transports and members, each checked against the acting user's role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from relance.accounts.models import Membership, Organisation, Role
from relance.accounts.permissions import MEMBERS, SETTINGS, require
from relance.audit import archive
from relance.audit import log as audit_log
from relance.channels.registry import get_backend
from relance.lib.secrets import redact

# What update_organisation() may change: not the slug (the CLI's handle), not the transports
# (set_transport(), which checks the URL).
SETTINGS_FIELDS = {
    "legal_name", "siren", "siret", "vat_number", "address_line1", "address_line2", "postcode", "city", "country",
    "iban", "bic", "sender_email", "phone", "currency", "time_zone", "language", "min_reminder_amount",
    "small_amount_threshold", "run_hour", "late_rate_mode", "late_rate_value", "commissaire_name",
    "commissaire_address",
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
    audit_log.record("organisation.updated", fresh, user, {"changes": {k: getattr(fresh, k) for k in changes}})
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
    audit_log.record("transport.set", org, user, {"family": family, "own": bool(url)})  # never the URL: secrets
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
    audit_log.record("member.set", org, user, {"member": member.get_username(), "role": role})
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
    audit_log.record("member.removed", org, user, {"member": member.get_username()})


class LogNotIntact(ValidationError):
    """The organisation's log does not verify: it is not deleted (its archive is kept to inspect)."""


@transaction.atomic
def delete_organisation(org: Organisation, user=None) -> Path:
    """Delete the organisation and everything of it. Its audit log is evidence: it is written first to
    an archive under the data dir (relance.audit.archive), checked, and only then are its entries
    removed, in the same transaction, so no entry outlives its organisation. Returns the archive."""
    from relance.ledger.models import CreditNote, Customer, Invoice, Payment

    require(user, org, SETTINGS)
    org = Organisation.objects.select_for_update().get(pk=org.pk)
    audit_log.record("organisation.deleted", org, user, {"slug": org.slug, "legal_name": org.legal_name})
    audit_log.lock(org)  # held (the record above took it): nothing is appended after the export
    path = archive.export_log(org)
    _header, verdict = archive.verify_archive(path)
    if not verdict.ok:
        raise LogNotIntact(f"{org.slug} : journal d'audit altéré ({verdict.problem.line()}) ; organisation "
                           f"non supprimée, archive gardée pour examen : {path}")
    # The ledger first: customers and invoices are PROTECTed against a cascade from the organisation.
    Payment.objects.filter(organisation=org).delete()
    CreditNote.objects.filter(organisation=org).delete()
    Invoice.objects.filter(organisation=org).delete()
    Customer.objects.filter(organisation=org).delete()
    org_id = org.pk
    org.delete()
    archive.purge_deleted(org_id)
    return path


def _keep_an_owner(org: Organisation, leaving) -> None:
    others = Membership.objects.filter(organisation=org, role=Role.OWNER).exclude(user=leaving)
    if not others.exists():
        raise ValidationError(f"{org.slug} : il faut au moins un propriétaire ; nommez-en un autre d'abord")


# --- web: settings ---


@transaction.atomic
def update_channel_settings(org: Organisation, changes: dict[str, Any], user=None):
    """Change how the organisation's messages go out (relance.channels.models.OrganisationChannelSettings)."""
    from relance.channels.models import OrganisationChannelSettings

    require(user, org, SETTINGS)
    allowed = {"sender_name", "read_receipt", "bcc_organisation", "bcc_address", "attach_statement",
               "payment_link_url", "notice_days"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationError(f"réglage inconnu ou non modifiable ici : {', '.join(unknown)}")
    prefs = (OrganisationChannelSettings.objects.select_for_update().filter(organisation=org).first()
             or OrganisationChannelSettings(organisation=org))
    for name, value in changes.items():
        setattr(prefs, name, value)
    prefs.full_clean()
    prefs.save()
    audit_log.record("channel_settings.updated", org, user, {"changes": changes})
    return prefs


def send_test_message(org: Organisation, family: str, recipient: str, user=None):
    """Send a short test e-mail or SMS to `recipient` through the organisation's transport (or the
    instance's). Returns the provider's Receipt; DeliveryError (its text without the URL's secrets)
    when the transport refuses it, ValidationError for a bad address or number."""
    from django.utils import timezone

    from relance.channels.base import Outgoing
    from relance.channels.sms.channel import InvalidPhoneNumber, normalise_number

    require(user, org, SETTINGS)
    if family not in TRANSPORT_FIELDS:
        raise ValidationError(f"transport inconnu {family!r} ; attendu : {', '.join(TRANSPORT_FIELDS)}")
    when = timezone.localtime().strftime("%d/%m/%Y %H:%M")
    if family == "email":
        return _send_email(
            org, recipient, f"Relance : e-mail de test de {org.legal_name}",
            f"Ceci est un e-mail de test envoyé par Relance pour {org.legal_name} le {when}.\n"
            "Si vous le lisez, le transport e-mail fonctionne.\n",
        )
    try:
        number = normalise_number(recipient.strip(), org.country or "FR")
    except InvalidPhoneNumber as exc:
        raise ValidationError(str(exc))
    return _send(org, "sms", Outgoing(channel="sms", recipient=number,
                                      body_text=f"Relance : SMS de test de {org.legal_name} ({when})."))


def send_invitation(org: Organisation, member, link: str, user=None):
    """E-mail the invitation link (where the invited person chooses their password) to `member`."""
    require(user, org, MEMBERS)
    inviter = (user.get_full_name() or user.username) if user is not None else org.legal_name
    return _send_email(
        org, member.email, f"Invitation à rejoindre {org.legal_name} sur Relance",
        f"Bonjour,\n\n{inviter} vous invite à rejoindre {org.legal_name} sur Relance.\n"
        f"Choisissez votre mot de passe ici (lien valable quelques jours) :\n\n{link}\n",
    )


def _send_email(org: Organisation, recipient: str, subject: str, body: str):
    from email.utils import formataddr

    from django.conf import settings as django_settings
    from django.core.validators import validate_email

    from relance.channels.base import Outgoing
    from relance.channels.models import get_channel_settings

    recipient = recipient.strip()
    validate_email(recipient)
    sender = org.sender_email or django_settings.DEFAULT_FROM_EMAIL
    name = get_channel_settings(org).sender_name or org.legal_name
    return _send(org, "email", Outgoing(channel="email", recipient=recipient, sender=formataddr((name, sender)),
                                        subject=subject, body_text=body))


def _send(org: Organisation, family: str, message):
    """Hand one message to the organisation's transport; DeliveryError without the URL's secrets."""
    from relance.channels.base import DeliveryError
    from relance.channels.registry import backend_url

    url = backend_url(family, getattr(org, TRANSPORT_FIELDS[family]))
    try:
        backend = get_backend(family, url)
        with backend:
            return backend.send(message)
    except DeliveryError as exc:
        raise DeliveryError(redact(exc.message, [url]), permanent=exc.permanent, response=redact(exc.response, [url]))
    except (ValueError, ImportError, OSError) as exc:
        raise DeliveryError(redact(str(exc), [url]))


@transaction.atomic
def invite_member(org: Organisation, email: str, role: str, user=None):
    """Add the user with this e-mail (or user name) to the organisation; when there is none, create an
    inactive account for the e-mail, which the invitation link activates (accept_invitation).
    Returns (member, created)."""
    from django.contrib.auth import get_user_model
    from django.core.validators import validate_email

    require(user, org, MEMBERS)
    User = get_user_model()
    email = email.strip()
    if not email:
        raise ValidationError("indiquez une adresse e-mail ou un nom d'utilisateur")
    member = (User.objects.filter(username=email).first()
              or User.objects.filter(email__iexact=email).order_by("pk").first())
    created = False
    if member is None:
        validate_email(email)
        member = User(username=email[:150], email=email, is_active=False)
        member.set_unusable_password()
        member.full_clean(exclude=["password"])
        member.save()
        created = True
    elif Membership.objects.filter(organisation=org, user=member).exists():
        raise ValidationError(f"{member.username} est déjà membre de {org.slug}")
    set_member(org, member, role, user=user)
    return member, created


@transaction.atomic
def accept_invitation(member, password: str):
    """The invited person chose their password (the caller checked the invitation token): activate them."""
    if member.is_active:
        raise ValidationError("ce compte est déjà actif")
    member.set_password(password)
    member.is_active = True
    member.save(update_fields=["password", "is_active"])
    return member
