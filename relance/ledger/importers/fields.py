"""Parsers of single cells: amounts, dates, yes/no, kinds, codes, identifiers.

Each takes a non-empty cell (a string from CSV, or a typed value from XLSX) and returns the
value, or raises FieldError with a short message in the active language. They never raise anything else.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import pgettext

from relance.accounts import validators
from relance.ledger.contacts import clean_email
from relance.ledger.importers.result import FieldError
from relance.lib.money import CENT

MAX_AMOUNT = Decimal("1000000000000")  # the columns hold 14 digits, 2 of them after the point (models.MONEY)
_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,12}(?:[.,][0-9]{1,2})?")
# Thousands grouped by spaces (normal, no-break, narrow no-break), or by the separator the decimal
# mark is not: 1 234,56 1.234,56 1,234.56. A group has three digits, so '5 5' and '1.2.3,4' fail.
_AMOUNT = re.compile(
    r"(?P<open>\()?(?P<minus>-)?"
    r"(?P<int>[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+|[0-9]{1,3}(?:\.[0-9]{3})+(?=,)|[0-9]{1,3}(?:,[0-9]{3})+(?=\.)"
    r"|[0-9]+)"
    r"(?:[.,](?P<dec>[0-9]+))?(?P<close>\))?"
    r"(?:[ \u00a0\u202f]?(?:€|EUR))?"
)
# Characters no cell may hold: C0 and C1 controls, but tab and line breaks (free text, wrapped cells).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def normalise_label(text: str) -> str:
    """'Date d’échéance ' -> 'datedecheance': header and value matching ignores case, accents, spaces."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).lower()


def _show(value: object, width: int = 40) -> str:
    text = str(value)
    return repr(text if len(text) <= width else text[:width] + "…")


def parse_text(value: object, max_length: int) -> str:
    text = " ".join(str(value).split())
    if len(text) > max_length:
        raise FieldError(pgettext("import", "too long (%(length)s characters, at most %(max)s)")
                         % {"length": len(text), "max": max_length})
    return text


def parse_money(value: object) -> Decimal:
    """An amount to the cent: '1 234,56', '1.234,56', '1,234.56', '12,50 €', 1234.56 (XLSX), '(12,00)' negative."""
    if value.__class__ is str:
        if _PLAIN_AMOUNT.fullmatch(value):  # the common case, fast: at most 12 digits and 2 decimals
            return Decimal(value.replace(",", ".") if "," in value else value)
        amount = _parse_amount_text(value)
    elif isinstance(value, bool):
        raise FieldError(pgettext("import", "invalid amount: %(value)s") % {"value": _show(value)})
    elif isinstance(value, int | float | Decimal):
        amount = Decimal(str(value))
        if not amount.is_finite():
            raise FieldError(pgettext("import", "invalid amount: %(value)s") % {"value": _show(value)})
        # XLSX numbers are binary floats: 0.1 + 0.2 is read 0.30000000000000004, so round.
        amount = amount.quantize(CENT, rounding=ROUND_HALF_UP) if abs(amount) < MAX_AMOUNT else amount
    else:
        amount = _parse_amount_text(str(value))
    return check_amount(amount, value)


def _parse_amount_text(value: str) -> Decimal:
    text = value.strip()
    m = _AMOUNT.fullmatch(text) if len(text) <= 40 else None
    if m is None or bool(m["open"]) != bool(m["close"]) or (m["open"] and m["minus"]):
        raise FieldError(pgettext("import", "invalid amount: %(value)s") % {"value": _show(value)})
    digits = "".join(c for c in m["int"] if c.isdigit())
    amount = Decimal(f"{digits}.{m['dec']}" if m["dec"] else digits)
    if abs(amount) < MAX_AMOUNT and amount != amount.quantize(CENT):
        raise FieldError(pgettext("import", "invalid amount (to the cent): %(value)s") % {"value": _show(value)})
    return -amount if m["open"] or m["minus"] else amount


def check_amount(amount: Decimal, value: object) -> Decimal:
    """The amount to the cent, if the money columns can hold it."""
    if abs(amount) >= MAX_AMOUNT:
        raise FieldError(pgettext("import", "amount too large: %(value)s") % {"value": _show(value)})
    return amount.quantize(CENT)


_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?)?")


def parse_date(value: object) -> date:
    """A date written dd/mm/yyyy (also with - or . and two-digit years) or ISO yyyy-mm-dd."""
    if isinstance(value, datetime):
        return _in_range(value.date(), value)
    if isinstance(value, date):
        return _in_range(value, value)
    text = str(value).strip()
    if len(text) == 10 and text[2] == "/" and text[5] == "/":  # the common case, fast
        day, month, year = text[:2], text[3:5], text[6:]
    elif m := _DMY.fullmatch(text):
        day, month, year = m.groups()
        if len(year) == 2:
            year = "20" + year
    elif m := _ISO.fullmatch(text):
        year, month, day = m.groups()
    else:
        raise FieldError(pgettext("import", "invalid date (dd/mm/yyyy or yyyy-mm-dd expected): %(value)s")
                         % {"value": _show(value)})
    try:
        parsed = date(int(year), int(month), int(day))
    except ValueError:
        raise FieldError(pgettext("import", "no such date: %(value)s") % {"value": _show(value)})
    return _in_range(parsed, value)


def _in_range(d: date, value: object) -> date:
    if not 1900 <= d.year <= 2200:
        raise FieldError(pgettext("import", "date out of range: %(value)s") % {"value": _show(value)})
    return d


_YES = {"oui", "o", "yes", "y", "vrai", "true", "1", "x"}
_NO = {"non", "n", "no", "faux", "false", "0"}


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    key = normalise_label(value)
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise FieldError(pgettext("import", "yes or no expected: %(value)s") % {"value": _show(value)})


_KINDS = {
    "entreprise": "business", "societe": "business", "professionnel": "business", "pro": "business",
    "business": "business", "company": "business", "b2b": "business",
    "particulier": "consumer", "consommateur": "consumer", "consumer": "consumer", "individual": "consumer",
    "b2c": "consumer",
    "public": "public", "organismepublic": "public", "administration": "public", "collectivite": "public",
    "publicbody": "public", "publicsector": "public", "secteurpublic": "public",
}


def parse_kind(value: object) -> str:
    kind = _KINDS.get(normalise_label(value))
    if kind is None:
        raise FieldError(pgettext("import", "unknown type %(value)s (business, consumer or public)")
                         % {"value": _show(value)})
    return kind


@cache
def _currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def parse_currency(value: object) -> str:
    code = str(value).strip().upper()
    if code == "€":
        code = "EUR"
    if code not in _currencies():
        raise FieldError(pgettext("import", "unknown currency (ISO 4217 code expected, e.g. EUR): %(value)s")
                         % {"value": _show(value)})
    return code


@cache
def _countries() -> dict[str, str]:
    from babel import Locale

    names: dict[str, str] = {}
    for lang in ("en", "fr"):
        for code, name in Locale(lang).territories.items():
            if len(code) == 2 and code.isalpha():
                names[normalise_label(name)] = code
                names[code.lower()] = code
    return names


def parse_country(value: object) -> str:
    code = _countries().get(normalise_label(value))
    if code is None:
        raise FieldError(pgettext("import", "unknown country (two-letter ISO code expected, e.g. FR): %(value)s")
                         % {"value": _show(value)})
    return code


_LANGUAGES = {"fr": "fr", "francais": "fr", "french": "fr", "en": "en", "anglais": "en", "english": "en"}


def parse_language(value: object) -> str:
    lang = _LANGUAGES.get(normalise_label(value))
    if lang is None:
        raise FieldError(pgettext("import", "unsupported language (fr or en): %(value)s") % {"value": _show(value)})
    return lang


def parse_email(value: object) -> str:
    """Exactly one address (relance.ledger.contacts.clean_email): a list is refused, not split."""
    try:
        return clean_email(value)
    except ValidationError as exc:
        raise FieldError(exc.messages[0])


def parse_phone(value: object, region: str = "FR") -> str:
    """A phone number stored in international form (+33...); national numbers are read for `region`."""
    text = str(value).strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = "0" + _whole(value)  # Excel drops the leading zero of 0612345678
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise FieldError(pgettext("import", "invalid phone number: %(value)s") % {"value": _show(value)})
    if not phonenumbers.is_possible_number(number):
        raise FieldError(pgettext("import", "invalid phone number: %(value)s") % {"value": _show(value)})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Digits, spaces, dots, dashes, parentheses and a leading +: nothing a gateway could read otherwise.
_PHONE_CHARS = re.compile(r"\+?[0-9 \u00a0\u202f().\-]+")


def parse_phone_text(value: object) -> str:
    """A cell that looks like a phone number; read in its country later (parse_phone)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_phone(value)
    text = str(value).strip()
    digits = sum(c.isdigit() for c in text)
    if not _PHONE_CHARS.fullmatch(text) or not 6 <= digits <= 17:
        raise FieldError(pgettext("import", "invalid phone number: %(value)s") % {"value": _show(value)})
    return text


def _whole(value: int | float) -> str:
    """A number from an XLSX cell written as digits (codes, identifiers, phone numbers)."""
    if isinstance(value, float) and not value.is_integer():
        raise FieldError(pgettext("import", "whole number expected: %(value)s") % {"value": _show(value)})
    return str(int(value))


def _identifier(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _whole(value)
    return "".join(str(value).split()).replace(".", "").replace("-", "")


def parse_siren(value: object) -> str:
    text = _identifier(value)
    try:
        validators.validate_siren(text)
    except ValidationError as exc:
        raise FieldError(exc.messages[0])
    return validators.normalise_siren(text)


def parse_siret(value: object) -> str:
    text = _identifier(value)
    try:
        validators.validate_siret(text)
    except ValidationError as exc:
        raise FieldError(exc.messages[0])
    return validators.normalise_siret(text)


def parse_vat(value: object) -> str:
    text = _identifier(value).upper()
    try:
        validators.validate_vat(text)
    except ValidationError as exc:
        raise FieldError(exc.messages[0])
    return text


def parse_iban(value: object) -> str:
    text = str(value).strip()
    try:
        validators.validate_iban(text)
    except ValidationError as exc:
        raise FieldError(exc.messages[0])
    return validators.normalise_iban(text)


_METHODS = {
    "virement": "transfer", "vir": "transfer", "transfer": "transfer", "banktransfer": "transfer",
    "wire": "transfer", "sepa": "transfer",
    "prelevement": "direct_debit", "prlv": "direct_debit", "directdebit": "direct_debit", "sdd": "direct_debit",
    "carte": "card", "cb": "card", "cartebancaire": "card", "card": "card",
    "cheque": "cheque", "chq": "cheque", "check": "cheque",
    "especes": "cash", "liquide": "cash", "cash": "cash",
    "autre": "other", "other": "other",
}


def parse_method(value: object) -> str:
    method = _METHODS.get(normalise_label(value))
    if method is None:
        raise FieldError(pgettext(
            "import", "unknown payment method %(value)s (transfer, direct debit, card, cheque, cash)")
            % {"value": _show(value)})
    return method


def parse_tags(value: object) -> list[str]:
    tags = [" ".join(t.split()) for t in re.split(r"[,;|]", str(value))]
    tags = [t for t in tags if t]
    if any(len(t) > 50 for t in tags):
        raise FieldError(pgettext("import", "tag too long (at most 50 characters)"))
    return sorted(set(tags))


def text_parser(max_length: int):
    """A parser of free text limited to the length of its column."""

    def parse(value: object) -> str:
        if value.__class__ is str:
            text = " ".join(value.split())
            if len(text) > max_length:
                raise FieldError(pgettext("import", "too long (%(length)s characters, at most %(max)s)")
                                 % {"length": len(text), "max": max_length})
            return text
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # XLSX stores the code client 1234 as the number 1234.0
        elif isinstance(value, datetime | date):
            value = value.isoformat()
        return parse_text(value, max_length)

    return parse


_CIVILITIES = {"m": "M.", "monsieur": "M.", "mr": "M.", "mme": "Mme", "madame": "Mme", "mrs": "Mme", "ms": "Mme"}


def parse_civility(value: object) -> str:
    """M., Monsieur, Mr -> 'M.'; Mme, Madame, Mrs, Ms -> 'Mme' (Customer.contact_civility)."""
    civility = _CIVILITIES.get(normalise_label(value))
    if civility is None:
        raise FieldError(pgettext("import", "unknown title %(value)s (M., Mme, Monsieur, Madame, Mr, Mrs, Ms)")
                         % {"value": _show(value)})
    return civility


_INSOLVENCY_KINDS = {
    "sauvegarde": "sauvegarde", "proceduredesauvegarde": "sauvegarde", "safeguard": "sauvegarde",
    "redressement": "redressement", "redressementjudiciaire": "redressement", "recovery": "redressement",
    "receivership": "redressement",
    "liquidation": "liquidation", "liquidationjudiciaire": "liquidation",
}


def parse_insolvency_kind(value: object) -> str:
    kind = _INSOLVENCY_KINDS.get(normalise_label(value))
    if kind is None:
        raise FieldError(pgettext(
            "import", "unknown kind of proceedings %(value)s (sauvegarde, redressement or liquidation)")
            % {"value": _show(value)})
    return kind
