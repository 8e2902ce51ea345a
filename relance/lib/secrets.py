"""Write-only secrets: transport URLs and messages are shown with their passwords, keys and tokens masked.

A transport URL carries its credentials (smtp://user:password@host, brevo://API_KEY@, https://…?token=T).
Anything that shows a URL to a person or writes it down (a page, a log line, Reminder.error, the CLI)
passes it through redact_url(); free text that may quote one (an exception message) through redact().
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

MASK = "•••"
# Query parameters that carry credentials, whatever the provider calls them.
SECRET_PARAM = re.compile(r"token|key|pass|secret|auth|sig|credential|pwd", re.IGNORECASE)
URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """The URL with its password (or a lone user name: an API key) and secret query values masked."""
    if not url or "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK  # unparseable: nothing of it can be shown safely
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        # smtp://user:pass@ keeps the user; brevo://KEY@ has nothing but the key.
        userinfo = f"{user}:{MASK}" if has_password else MASK if user else ""
        netloc = f"{userinfo}@{hostport}"
    query = parts.query
    if query:
        query = "&".join(
            f"{key}={MASK if SECRET_PARAM.search(key) and value else value}"
            for key, value in parse_qsl(query, keep_blank_values=True)
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_secrets(url: str) -> list[str]:
    """The secret values a URL holds (password, lone user name, secret query values), raw and decoded."""
    if not url or "://" not in url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    if "@" in parts.netloc:
        user, has_password, password = parts.netloc.rpartition("@")[0].partition(":")
        found.append(password if has_password else user)
    found += [value for key, value in parse_qsl(parts.query, keep_blank_values=True) if SECRET_PARAM.search(key)]
    found += [unquote(value) for value in found]
    # Longest first, so that a secret containing another is masked whole.
    return sorted({value for value in found if len(value) >= 3}, key=len, reverse=True)


def redact(text: str, urls: Iterable[str] = ()) -> str:
    """Free text with every URL in it redacted, and the secrets of `urls` masked wherever they appear."""
    if not text:
        return text
    text = URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    for url in urls:
        for secret in url_secrets(url):
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks the credentials of any URL in a record's message and traceback."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
