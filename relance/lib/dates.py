"""Business days: weekends and French public holidays (the `holidays` package). Pure.

Used by the dunning planner (a step falling on a weekend or a holiday moves to the next
business day), by promises (grace in business days) and by the SMS quiet hours.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

ONE_DAY = timedelta(days=1)

# The `holidays` subdivision of France a postcode lies in, by its first digits: Alsace-Moselle keeps
# Good Friday and 26 December, each overseas territory has its own days (abolition of slavery...).
POSTCODE_SUBDIVISIONS = {
    "57": "57", "67": "6AE", "68": "6AE",
    "971": "971", "972": "972", "973": "973", "974": "974", "976": "976",
    "975": "PM", "986": "WF", "987": "PF", "988": "NC",
    # Saint-Barthélemy and Saint-Martin kept Guadeloupe's postcodes when they left it in 2007.
    "97133": "BL", "97150": "MF",
}


@lru_cache(maxsize=64)
def _holidays(year: int, country: str, subdiv: str | None) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year).keys())


def subdivision_for_postcode(postcode: str | None) -> str | None:
    """The `holidays` subdivision of France for a French postcode (67000 -> 6AE), None for the rest."""
    digits = "".join((postcode or "").split())
    if len(digits) != 5 or not digits.isdigit():
        return None
    return next((POSTCODE_SUBDIVISIONS[p] for p in (digits, digits[:3], digits[:2]) if p in POSTCODE_SUBDIVISIONS),
                None)


def public_holidays(year: int, country: str = "FR", subdiv: str | None = None) -> frozenset[date]:
    """The public holidays of a year (metropolitan France by default; subdiv '57' for Moselle...)."""
    return _holidays(year, country, subdiv)


@lru_cache(maxsize=65536)
def is_business_day(day: date, country: str = "FR", subdiv: str | None = None) -> bool:
    """Monday to Friday and not a public holiday."""
    # Cached per date: the planner asks for the same few hundred dates millions of times.
    return day.weekday() < 5 and day not in _holidays(day.year, country, subdiv)


def next_business_day(day: date, country: str = "FR", subdiv: str | None = None) -> date:
    """`day` itself when it is a business day, else the first business day after it."""
    while not is_business_day(day, country, subdiv):
        day += ONE_DAY
    return day


def add_business_days(day: date, n: int, country: str = "FR", subdiv: str | None = None) -> date:
    """The n-th business day after `day` (before it when n < 0); n == 0 gives next_business_day(day)."""
    if n == 0:
        return next_business_day(day, country, subdiv)
    step = ONE_DAY if n > 0 else -ONE_DAY
    remaining = abs(n)
    while remaining:
        day += step
        if is_business_day(day, country, subdiv):
            remaining -= 1
    return day


def business_days_between(start: date, end: date, country: str = "FR", subdiv: str | None = None) -> int:
    """How many business days are in (start, end]; negative when end is before start."""
    if end < start:
        return -business_days_between(end, start, country, subdiv)
    count, day = 0, start
    while day < end:
        day += ONE_DAY
        if is_business_day(day, country, subdiv):
            count += 1
    return count
