"""Business days with French public holidays."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.lib.dates import (
    add_business_days,
    business_days_between,
    is_business_day,
    next_business_day,
    public_holidays,
    subdivision_for_postcode,
)


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 6, 29), True),  # Monday
        (date(2026, 7, 4), False),  # Saturday
        (date(2026, 7, 5), False),  # Sunday
        (date(2026, 7, 14), False),  # Fête nationale, a Tuesday
        (date(2026, 5, 1), False),  # Fête du travail
        (date(2026, 5, 14), False),  # Ascension
        (date(2026, 4, 6), False),  # Lundi de Pâques
        (date(2026, 12, 25), False),  # Noël
        (date(2026, 12, 24), True),
    ],
)
def test_it_knows_weekends_and_french_public_holidays(day, expected):
    assert is_business_day(day) is expected


def test_good_friday_is_a_holiday_only_in_moselle():
    good_friday = date(2026, 4, 3)
    assert is_business_day(good_friday)
    assert not is_business_day(good_friday, subdiv="57")


def test_it_lists_the_eleven_metropolitan_holidays():
    assert len(public_holidays(2026)) == 11


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 6, 30), date(2026, 6, 30)),  # already a business day
        (date(2026, 7, 4), date(2026, 7, 6)),  # Saturday -> Monday
        (date(2026, 7, 14), date(2026, 7, 15)),  # holiday -> next day
        (date(2026, 5, 1), date(2026, 5, 4)),  # Friday holiday -> Monday
        (date(2026, 12, 25), date(2026, 12, 28)),
        (date(2026, 5, 8), date(2026, 5, 11)),  # Victoire 1945, a Friday
    ],
)
def test_next_business_day_moves_past_weekends_and_holidays(day, expected):
    assert next_business_day(day) == expected


@pytest.mark.parametrize(
    "day, n, expected",
    [
        (date(2026, 6, 26), 2, date(2026, 6, 30)),  # Friday + 2 -> Tuesday
        (date(2026, 7, 13), 1, date(2026, 7, 15)),  # over the 14 July
        (date(2026, 7, 4), 0, date(2026, 7, 6)),
        (date(2026, 7, 6), -1, date(2026, 7, 3)),
        (date(2026, 12, 31), 1, date(2027, 1, 4)),  # over New Year and a weekend, across years
    ],
)
def test_add_business_days_counts_only_business_days(day, n, expected):
    assert add_business_days(day, n) == expected


def test_business_days_between_counts_the_days_after_the_start():
    assert business_days_between(date(2026, 7, 10), date(2026, 7, 17)) == 4  # Mon, Wed, Thu, Fri (14th off)
    assert business_days_between(date(2026, 7, 17), date(2026, 7, 10)) == -4
    assert business_days_between(date(2026, 7, 10), date(2026, 7, 10)) == 0


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)), st.integers(min_value=1, max_value=40))
def test_adding_business_days_always_lands_on_a_business_day_the_right_count_away(day, n):
    result = add_business_days(day, n)
    assert is_business_day(result)
    assert result > day
    assert business_days_between(day, result) == n


@pytest.mark.parametrize(
    "postcode, subdivision",
    [
        ("57000", "57"), ("57 000", "57"), ("67000", "6AE"), ("68100", "6AE"),
        ("97110", "971"), ("97200", "972"), ("97300", "973"), ("97400", "974"), ("97600", "976"),
        ("97500", "PM"), ("97133", "BL"), ("97150", "MF"), ("98714", "PF"), ("98800", "NC"),
        ("98600", "WF"),
        ("75009", None), ("69002", None), ("5700", None), ("", None), (None, None), ("L-1234", None),
    ],
)
def test_a_postcode_gives_its_holiday_subdivision(postcode, subdivision):
    assert subdivision_for_postcode(postcode) == subdivision


def test_alsace_moselle_keeps_good_friday_and_saint_stephen():
    good_friday, saint_stephen = date(2026, 4, 3), date(2026, 12, 28)  # 26 December 2026 is a Saturday
    assert is_business_day(good_friday)
    assert not is_business_day(good_friday, subdiv=subdivision_for_postcode("67000"))
    assert not is_business_day(date(2025, 12, 26), subdiv=subdivision_for_postcode("57000"))
    assert is_business_day(date(2025, 12, 26))
    assert is_business_day(saint_stephen, subdiv="57")
