"""Reads of the settings page: the transports as they may be shown (secrets masked), the members."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from django.core.exceptions import ValidationError

from relance.accounts.models import Membership, Organisation, Role
from relance.channels.registry import backend_url
from relance.lib.secrets import MASK, redact_url

TRANSPORTS = {"email": "email_url", "sms": "sms_url"}


@dataclass(frozen=True)
class Transport:
    family: str
    own: str  # the organisation's URL, masked; "" when it uses the instance's
    effective: str  # the URL messages go through now, masked
    has_secret: bool


def transports(org: Organisation) -> dict[str, Transport]:
    out = {}
    for family, field in TRANSPORTS.items():
        stored = getattr(org, field)
        out[family] = Transport(family, redact_url(stored) if stored else "", redact_url(backend_url(family, stored)),
                                MASK in redact_url(stored) if stored else False)
    return out


def members(org: Organisation):
    """The memberships with their users, owners first: one query."""
    order = {Role.OWNER: 0, Role.COLLECTOR: 1, Role.VIEWER: 2}
    rows = list(Membership.objects.filter(organisation=org).select_related("user")
                .only("pk", "role", "created_at", "user__id", "user__username", "user__email", "user__first_name",
                      "user__last_name", "user__is_active", "user__last_login"))
    rows.sort(key=lambda m: (order.get(m.role, 9), m.user.username.lower()))
    return rows


def combine_url(typed: str, secret: str, stored: str) -> str:
    """The URL to store from the form: `typed` is what the field holds (it starts as the stored URL
    masked, smtp://user:•••@host:587), `secret` the password field (empty: keep the stored one).

    A ••• in the typed URL stands for the stored secret at that place, or for the new `secret`
    when one is typed. A new secret with no ••• goes in as the password of the URL's user.
    """
    typed = typed.strip()
    if not typed:
        return ""
    if secret:
        if MASK in typed:
            return typed.replace(MASK, quote(secret, safe=""))
        parts = urlsplit(typed)
        userinfo, at, hostport = parts.netloc.rpartition("@")
        if at and userinfo and ":" not in userinfo:
            return urlunsplit(parts._replace(netloc=f"{userinfo}:{quote(secret, safe='')}@{hostport}"))
        raise ValidationError("indiquez ••• dans l'adresse à la place du mot de passe ou de la clé")
    if MASK not in typed:
        return typed
    if not stored:
        raise ValidationError("saisissez le mot de passe ou la clé : il n'y en a pas d'enregistré")
    old, new = urlsplit(stored), urlsplit(typed)
    netloc = new.netloc
    if MASK in netloc:
        old_userinfo = old.netloc.rpartition("@")[0]
        user, has_password, password = old_userinfo.partition(":")
        kept = password if has_password else user
        if not kept:
            raise ValidationError("saisissez le mot de passe : il n'y en a pas d'enregistré")
        netloc = netloc.replace(MASK, kept)
    query = new.query
    if MASK in query:
        old_values = {}
        for pair in old.query.split("&"):
            key, _, value = pair.partition("=")
            old_values.setdefault(key, value)
        pairs = []
        for key, value in parse_qsl(query, keep_blank_values=True):
            if value == MASK:
                if key not in old_values:
                    raise ValidationError(f"saisissez la valeur de {key} : il n'y en a pas d'enregistrée")
                pairs.append(f"{key}={old_values[key]}")
            else:
                pairs.append(f"{quote(key, safe='')}={quote(value, safe='')}")
        query = "&".join(pairs)
    if MASK in netloc or MASK in query or MASK in new.path:
        raise ValidationError("••• ne peut remplacer qu'un mot de passe ou une clé")
    return urlunsplit((new.scheme, netloc, new.path, query, new.fragment))
