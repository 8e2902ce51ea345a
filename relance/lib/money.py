"""Money: Decimal amounts rounded half-up to the cent, and parsing of human-written amounts."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal | int | str) -> Decimal:
    """Round to the cent, half up (the rule for invoices in euros)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_amount(text: str) -> Decimal:
    """Parse '1 234,56', '1.234,56', '1,234.56', '-12.5', '12,50 €' into a Decimal.

    Raises ValueError with a short message on anything else.
    """
    raw = text
    s = _SPACES.sub("", text.strip()).replace("€", "").replace("EUR", "")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.endswith("-"):
        negative, s = True, s[:-1]
    if not s:
        raise ValueError("empty amount")
    if "," in s and "." in s:
        # The last separator is the decimal one; the other groups thousands.
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        if s.count(",") > 1:
            raise ValueError(f"not an amount: {raw!r}")
        s = s.replace(",", ".")
    elif s.count(".") > 1:
        s = s.replace(".", "")  # 1.234.567 written with dots as thousand groups
    if not re.fullmatch(r"[+-]?\d+(\.\d+)?", s):
        raise ValueError(f"not an amount: {raw!r}")
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"not an amount: {raw!r}")
    return -value if negative else value
