"""Amounts, dates and percentages for people, in the page's language (Babel): `1 181 759,36 €`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from django import template
from django.utils import timezone
from django.utils.translation import get_language

register = template.Library()


def _locale() -> str:
    return "en_GB" if (get_language() or "fr").startswith("en") else "fr_FR"


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def money(value, currency: str = "EUR") -> str:
    """`1181759.36` → `1 181 759,36 €` (fr) or `€1,181,759.36` (en); "—" for nothing."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    return format_currency(amount.quantize(Decimal("0.01")), currency or "EUR", locale=_locale())


@register.filter
def number(value, digits: int = 0) -> str:
    amount = _decimal(value)
    if amount is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * int(digits) if int(digits) else "")
    return format_decimal(amount, format=pattern, locale=_locale())


@register.filter
def percent(value, digits: int = 0) -> str:
    """A share (0.25) as `25 %`."""
    share = _decimal(value)
    if share is None:
        return "—"
    sign = "%" if _locale().startswith("en") else "\u00a0%"
    pattern = "#,##0" + ("." + "0" * int(digits) if int(digits) else "") + sign
    return format_percent(share, format=pattern, locale=_locale())


@register.filter
def day(value, fmt: str = "medium") -> str:
    """A date (`3 déc. 2026`); a datetime is shown in the current time zone with its time."""
    if value in (None, ""):
        return "—"
    if isinstance(value, datetime):
        return format_datetime(timezone.localtime(value), format="short" if fmt == "medium" else fmt,
                               locale=_locale())
    if isinstance(value, date):
        return format_date(value, format=fmt, locale=_locale())
    return str(value)
