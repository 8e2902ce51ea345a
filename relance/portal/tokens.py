"""The customer's key to the portal: a signed, expiring token, no account.

The token carries the organisation, the customer and (when a reminder carries it) the reminder,
signed with the instance's secret key and a salt of its own, with its date. It is good for
RELANCE_PORTAL_TOKEN_DAYS days (90 by default); a tampered or expired token reads as None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "relance.portal.link"
DEFAULT_DAYS = 90


@dataclass(frozen=True)
class PortalKey:
    organisation_id: int
    customer_id: int
    reminder_id: int | None = None


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def max_age() -> timedelta:
    return timedelta(days=int(getattr(settings, "RELANCE_PORTAL_TOKEN_DAYS", DEFAULT_DAYS) or DEFAULT_DAYS))


def make_token(organisation_id: int, customer_id: int, reminder_id: int | None = None) -> str:
    payload = {"o": int(organisation_id), "c": int(customer_id)}
    if reminder_id:
        payload["r"] = int(reminder_id)
    return _signer().sign_object(payload)


def read_token(token: str) -> PortalKey | None:
    """What the token names, or None when it was tampered with, has expired or says nothing sensible."""
    try:
        payload = _signer().unsign_object(token, max_age=max_age())
    except (signing.BadSignature, ValueError, TypeError):  # SignatureExpired is a BadSignature
        return None
    if not isinstance(payload, dict):
        return None
    org, customer, reminder = payload.get("o"), payload.get("c"), payload.get("r")
    if not isinstance(org, int) or not isinstance(customer, int):
        return None
    return PortalKey(org, customer, reminder if isinstance(reminder, int) else None)


def portal_path(organisation_id: int, customer_id: int, reminder_id: int | None = None) -> str:
    return reverse("portal:home", args=[make_token(organisation_id, customer_id, reminder_id)])


def portal_url(organisation_id: int, customer_id: int, reminder_id: int | None = None) -> str:
    """The absolute link a message carries (RELANCE_BASE_URL + /p/<token>/)."""
    base = str(getattr(settings, "BASE_URL", "") or "http://127.0.0.1:8000").rstrip("/")
    return base + portal_path(organisation_id, customer_id, reminder_id)
