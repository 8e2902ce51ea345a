"""Channel kinds and provider backends, by dotted path (as Django's mail backends are)."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

from relance.channels.base import Backend, Channel
from relance.lib.secrets import redact_url

# One lowercase slug per channel kind: package name, registry key and stored value.
CHANNELS: dict[str, str] = {
    "email": "relance.channels.email.channel.EmailChannel",
    "sms": "relance.channels.sms.channel.SmsChannel",
    "letter": "relance.channels.letter.channel.LetterChannel",
    "call": "relance.channels.phone.channel.CallChannel",
    "escalation": "relance.channels.escalation.channel.EscalationChannel",
}

# URL scheme -> backend class, per family. Every family ships file/console and a real one.
BACKENDS: dict[str, dict[str, str]] = {
    "email": {
        "smtp": "relance.channels.email.backends.smtp.SmtpBackend",
        "smtps": "relance.channels.email.backends.smtp.SmtpBackend",
        "file": "relance.channels.email.backends.file.FileBackend",
        "console": "relance.channels.email.backends.console.ConsoleBackend",
    },
    "sms": {
        "http": "relance.channels.sms.backends.http.HttpJsonBackend",
        "https": "relance.channels.sms.backends.http.HttpJsonBackend",
        "brevo": "relance.channels.sms.backends.brevo.BrevoBackend",
        "file": "relance.channels.sms.backends.file.FileBackend",
        "console": "relance.channels.sms.backends.console.ConsoleBackend",
    },
    "letter": {
        "file": "relance.channels.letter.backends.file.FileBackend",
    },
}

DEFAULT_URLS = {"email": "EMAIL_URL", "sms": "SMS_URL", "letter": "LETTER_URL"}


class ConfigurationError(ValueError):
    pass


@cache
def get_channel(kind: str) -> Channel:
    if kind not in CHANNELS:
        raise ConfigurationError(f"unknown channel {kind!r}; known: {', '.join(CHANNELS)}")
    return import_string(CHANNELS[kind])()


def backend_url(family: str, override: str = "") -> str:
    """The organisation's override when set, else the instance default from settings."""
    if override:
        return override
    setting = DEFAULT_URLS[family]
    default = getattr(settings, setting, "") or f"file://{settings.DATA_DIR / 'outbox' / family}"
    return default


def get_backend(family: str, url: str) -> Backend:
    """Build the backend a URL names, e.g. smtp://user:pass@host:587?starttls=1 or file:///path."""
    scheme = urlsplit(url).scheme.lower()
    family_backends = BACKENDS.get(family, {})
    if scheme not in family_backends:
        raise ConfigurationError(
            f"{DEFAULT_URLS.get(family, family)}={redact_url(url)!r}: unknown scheme {scheme!r}; "
            f"expected one of {', '.join(sorted(family_backends))}"
        )
    return import_string(family_backends[scheme]).from_url(url)
