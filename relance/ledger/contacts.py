"""The one check of a contact's e-mail address, for every path that writes or uses one.

The importer, the admin, the actions and the SMTP backend (as a last guard) all call
`clean_email`: a contact holds exactly one address, so that a message can never go to a second,
attacker-chosen address hidden behind a comma, a semicolon, a comment or a display name.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import pgettext

MAX_EMAIL_LENGTH = 254  # RFC 5321: the longest path a server must accept

# What separates, comments, quotes or names addresses (RFC 5322), and control characters. Django's
# EmailValidator accepts quoted local parts ("a,b"@x.fr) and domain literals (a@[10.0.0.1]): a mail
# server or a client may read those as two recipients or as a recipient of its own choice.
_FORBIDDEN = re.compile(r'[\s,;:()<>\[\]"\\\x00-\x1f\x7f-\x9f]')
_validate = EmailValidator()


def clean_email(value: object) -> str:
    """One e-mail address, stripped; ValidationError (in the active language) for anything else."""
    text = str(value).strip()
    if not text:
        raise ValidationError(pgettext("validation", "empty e-mail address"), code="empty")
    if match := _FORBIDDEN.search(text):
        char = match.group()
        shown = repr(char) if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
        raise ValidationError(
            pgettext("validation", "a single e-mail address expected, without name or comment (%(char)s not allowed): "
                     "%(value)s") % {"char": shown, "value": _show(text)},
            code="forbidden",
        )
    if len(text) > MAX_EMAIL_LENGTH:
        raise ValidationError(pgettext("validation", "e-mail address too long (%(length)s characters, at most %(max)s)")
                              % {"length": len(text), "max": MAX_EMAIL_LENGTH}, code="too_long")
    try:
        _validate(text)
    except ValidationError:
        raise ValidationError(pgettext("validation", "invalid e-mail address: %(value)s") % {"value": _show(text)},
                              code="invalid")
    return text


def _show(text: str, width: int = 60) -> str:
    return repr(text if len(text) <= width else text[:width] + "…")
