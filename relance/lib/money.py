"""Money: Decimal amounts rounded half-up to the cent, and parsing of human-written amounts."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db.models import DecimalField, Func, IntegerField, Sum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal | int | str) -> Decimal:
    """Round to the cent, half up (the rule for invoices in euros)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def db_cents(value) -> Decimal:
    """A money sum read from the database as exact cents: None (no rows) is 0.00.

    Goes through str(): a float-ish value from SQLite (28575334.5500002) is rounded on its decimal
    digits, not on its binary ones."""
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class MoneySum(Sum):
    """SUM of a money column or expression, exact to the cent on every database.

    PostgreSQL adds numerics exactly. SQLite keeps decimals as binary floats and adds them as floats:
    the sum of 200,000 invoices comes back as 28575334.5500002. Here SQLite adds whole cents instead
    (64-bit integers, exact), and divides once: the result is the float nearest to the exact sum, which
    db_cents() (or this aggregate's own converter, when it is not wrapped in another expression) turns
    back into exact cents. Every sum of money in Relance goes through it."""

    def __init__(self, expression, **extra):
        extra.setdefault("output_field", DecimalField(max_digits=20, decimal_places=2))
        super().__init__(expression, **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        clone = self.copy()
        source, *rest = clone.get_source_expressions()
        whole_cents = Func(source, template="CAST(ROUND((%(expressions)s) * 100) AS INTEGER)",
                           output_field=IntegerField())
        clone.set_source_expressions([whole_cents, *rest])
        sql, params = clone.as_sql(compiler, connection, **extra_context)
        return f"({sql} / 100.0)", params

    def convert_value(self, value, expression, connection):
        return None if value is None else db_cents(value)


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
