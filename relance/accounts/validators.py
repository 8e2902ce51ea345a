"""Validation of French/European legal and bank identifiers (python-stdnum, schwifty)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import pgettext
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren, siret


def validate_siren(value: str) -> None:
    try:
        siren.validate(value)
    except StdnumError as exc:
        raise ValidationError(pgettext("validation", "invalid SIREN (%(error)s): %(value)s")
                              % {"error": exc, "value": value})


def validate_siret(value: str) -> None:
    try:
        siret.validate(value)
    except StdnumError as exc:
        raise ValidationError(pgettext("validation", "invalid SIRET (%(error)s): %(value)s")
                              % {"error": exc, "value": value})


def validate_vat(value: str) -> None:
    try:
        vat.validate(value)
    except StdnumError as exc:
        raise ValidationError(pgettext("validation", "invalid VAT number (%(error)s): %(value)s")
                              % {"error": exc, "value": value})


def validate_iban(value: str) -> None:
    try:
        IBAN(value)
    except SchwiftyException as exc:
        raise ValidationError(pgettext("validation", "invalid IBAN (%(error)s): %(value)s")
                              % {"error": exc, "value": value})


def validate_bic(value: str) -> None:
    try:
        BIC(value)
    except SchwiftyException as exc:
        raise ValidationError(pgettext("validation", "invalid BIC (%(error)s): %(value)s")
                              % {"error": exc, "value": value})


def normalise_iban(value: str) -> str:
    return str(IBAN(value).compact) if value else ""


def normalise_siren(value: str) -> str:
    return siren.compact(value) if value else ""


def normalise_siret(value: str) -> str:
    return siret.compact(value) if value else ""


__all__ = [
    "normalise_iban",
    "normalise_siren",
    "normalise_siret",
    "validate_bic",
    "validate_iban",
    "validate_siren",
    "validate_siret",
    "validate_vat",
]
