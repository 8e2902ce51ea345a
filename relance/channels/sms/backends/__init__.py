"""SMS provider backends, chosen by the scheme of SMS_URL (or the organisation's sms_url):

    https://provider.example/send?token=T&to_field=to&text_field=text&from_field=sender&sender=ABC
    brevo://API_KEY@?sender=ABC                 Brevo transactional SMS API
    file:///var/relance/outbox/sms              one JSON file per SMS (development, demo)
    console:                                    printed on standard output
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from relance.channels.base import DeliveryError
from relance.channels.registry import ConfigurationError
from relance.lib.http import HttpError


def delivery_error(exc: HttpError) -> DeliveryError:
    """The channel's error for a failed HTTP request: retried or not, and uncertain, as HTTP said."""
    return DeliveryError(exc.message, permanent=exc.permanent, response=exc.response, uncertain=exc.uncertain)


def split_options(url: str, known: set[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Our options from the query string, and the other query parameters (kept for the provider)."""
    ours: dict[str, str] = {}
    rest: list[tuple[str, str]] = []
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key in known:
            ours[key] = value
        else:
            rest.append((key, value))
    return ours, rest


def option_float(options: dict[str, str], name: str, default: float, setting: str = "SMS_URL") -> float:
    raw = options.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{setting}: {name}={raw!r} is not a number")
    if value <= 0:
        raise ConfigurationError(f"{setting}: {name}={raw!r} must be positive")
    return value
