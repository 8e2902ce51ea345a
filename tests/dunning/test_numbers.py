"""Amounts for people (relance.dunning.numbers): Babel's rules, at the cost of an f-string."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from hypothesis import given
from hypothesis import strategies as st

from relance.dunning.numbers import format_amount, format_money

amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("999999999.99"), places=2)


def test_it_writes_euros_the_french_and_the_english_way():
    assert format_money(Decimal("1234.5"), "fr") == "1\u202f234,50\xa0€"
    assert format_money(Decimal("1234.5"), "en") == "€1,234.50"
    assert format_amount(Decimal("2500"), "fr") == "2\u202f500,00"


@given(amounts, st.sampled_from(["fr", "en"]))
def test_it_writes_what_babel_writes(amount, language):
    assert format_money(amount, language) == format_currency(amount, "EUR", locale=language)
    assert format_amount(amount, language) == format_decimal(amount, format="#,##0.00", locale=language)
