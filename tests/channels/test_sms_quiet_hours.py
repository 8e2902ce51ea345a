"""No SMS before 08:00, after 20:00, on Sundays or on public holidays, in the recipient's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from relance.channels.sms.quiet_hours import LocalRules, deferred_until, recipient_rules

PARIS = ZoneInfo("Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def test_it_sends_now_on_a_weekday_afternoon():
    now = paris(2026, 6, 30, 15, 0)  # Tuesday
    assert deferred_until(now, "Europe/Paris") == now


def test_it_waits_for_eight_o_clock_in_the_morning():
    assert deferred_until(paris(2026, 6, 30, 6, 59), "Europe/Paris") == paris(2026, 6, 30, 8, 0)


def test_eight_pm_is_already_too_late():
    assert deferred_until(paris(2026, 6, 30, 20, 0), "Europe/Paris") == paris(2026, 7, 1, 8, 0)
    assert deferred_until(paris(2026, 6, 30, 19, 59), "Europe/Paris") == paris(2026, 6, 30, 19, 59)


def test_saturday_is_allowed_but_sunday_is_not():
    assert deferred_until(paris(2026, 7, 4, 10, 0), "Europe/Paris") == paris(2026, 7, 4, 10, 0)
    assert deferred_until(paris(2026, 7, 4, 21, 0), "Europe/Paris") == paris(2026, 7, 6, 8, 0)
    assert deferred_until(paris(2026, 7, 5, 12, 0), "Europe/Paris") == paris(2026, 7, 6, 8, 0)


def test_it_skips_public_holidays_and_the_sunday_after():
    # Bastille Day 2026 is a Tuesday; 15 August 2026 a Saturday, then Sunday 16.
    assert deferred_until(paris(2026, 7, 14, 10, 0), "Europe/Paris") == paris(2026, 7, 15, 8, 0)
    assert deferred_until(paris(2026, 8, 14, 20, 30), "Europe/Paris") == paris(2026, 8, 17, 8, 0)
    # Christmas 2026 (Friday) at night: not Christmas, Saturday 26 at 08:00.
    assert deferred_until(paris(2026, 12, 24, 22, 0), "Europe/Paris") == paris(2026, 12, 26, 8, 0)


def test_it_reads_the_hour_in_the_organisation_time_zone():
    # 05:30 UTC is 07:30 in Paris in summer (too early) and 01:30 in Montreal (too early, other day rule).
    now = datetime(2026, 6, 30, 5, 30, tzinfo=UTC)
    assert deferred_until(now, "Europe/Paris") == paris(2026, 6, 30, 8, 0)
    assert deferred_until(now, "America/Montreal") == datetime(2026, 6, 30, 8, 0, tzinfo=ZoneInfo("America/Montreal"))
    assert deferred_until(datetime(2026, 6, 30, 7, 0, tzinfo=UTC), "Europe/Paris") == paris(2026, 6, 30, 9, 0)


def test_it_handles_the_daylight_saving_night():
    # 29 March 2026: clocks go forward at 02:00 in Paris; a Sunday anyway, so Monday 08:00 CEST.
    assert deferred_until(paris(2026, 3, 28, 23, 0), "Europe/Paris") == paris(2026, 3, 30, 8, 0)
    assert deferred_until(paris(2026, 3, 30, 8, 0), "Europe/Paris").utcoffset().total_seconds() == 7200


def test_it_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="aware"):
        deferred_until(datetime(2026, 6, 30, 12, 0), "Europe/Paris")


# (number, customer country, postcode, time zone, holidays country, subdivision)
RECIPIENTS = [
    ("06 12 34 56 78", "FR", "75009", "Europe/Paris", "FR", None),
    ("06 12 34 56 78", "FR", "57000", "Europe/Paris", "FR", "57"),
    ("06 12 34 56 78", "FR", "67000", "Europe/Paris", "FR", "6AE"),
    ("06 12 34 56 78", "FR", "97400", "Indian/Reunion", "FR", "974"),  # a metropolitan mobile in Réunion
    ("+590 690 12 34 56", "FR", "75009", "America/Guadeloupe", "FR", "971"),  # the number wins
    ("0690 12 34 56", "FR", "", "America/Guadeloupe", "FR", "971"),
    ("+596 696 12 34 56", "FR", "97200", "America/Martinique", "FR", "972"),
    ("+594 694 12 34 56", "FR", "97300", "America/Cayenne", "FR", "973"),
    ("+262 692 12 34 56", "FR", "97400", "Indian/Reunion", "FR", "974"),
    ("+262 639 40 12 34", "FR", "97600", "Indian/Mayotte", "FR", "976"),
    ("+508 55 12 34", "FR", "97500", "America/Miquelon", "FR", "PM"),
    ("+689 87 12 34 56", "FR", "98714", "Pacific/Tahiti", "FR", "PF"),
    ("+32 470 12 34 56", "BE", "1000", "Europe/Brussels", "BE", None),
    ("+49 1512 3456789", "FR", "75009", "Europe/Berlin", "DE", None),
    ("+1 202 555 0123", "US", "20001", "America/New_York", "US", None),
    ("+61 412 345 678", "AU", "2000", "Europe/Paris", "AU", None),  # several zones: the organisation's
    ("", "FR", "67000", "Europe/Paris", "FR", "6AE"),  # no number yet: the address
    ("abc", "BE", "1000", "Europe/Paris", None, None),
]


@pytest.mark.parametrize("number, country, postcode, tz, holidays_country, subdiv", RECIPIENTS)
def test_the_recipient_number_and_address_give_the_zone_and_the_holidays(number, country, postcode, tz,
                                                                          holidays_country, subdiv):
    assert recipient_rules(number, country, postcode, "Europe/Paris") == LocalRules(tz, holidays_country, subdiv)


def test_an_sms_to_guadeloupe_waits_for_eight_o_clock_there():
    rules = recipient_rules("+590 690 12 34 56", "FR", "")
    guadeloupe = ZoneInfo("America/Guadeloupe")  # UTC-4: 13:00 in Paris in summer is 07:00 there
    assert deferred_until(paris(2026, 7, 30, 13, 0), rules.tz, rules.country, rules.subdiv) == datetime(
        2026, 7, 30, 8, 0, tzinfo=guadeloupe)
    assert deferred_until(paris(2026, 7, 30, 14, 30), rules.tz, rules.country, rules.subdiv) == paris(
        2026, 7, 30, 14, 30)
    # 21:00 in Paris is 15:00 in Guadeloupe: still allowed there.
    assert deferred_until(paris(2026, 7, 30, 21, 0), rules.tz, rules.country, rules.subdiv) == paris(2026, 7, 30, 21, 0)


@pytest.mark.parametrize(
    "number, local_day, next_day",
    [
        ("+590 690 12 34 56", (2026, 5, 27), (2026, 5, 28)),  # abolition of slavery in Guadeloupe
        ("+596 696 12 34 56", (2026, 5, 22), (2026, 5, 23)),  # ... in Martinique
        ("+594 694 12 34 56", (2026, 6, 10), (2026, 6, 11)),  # ... in Guyane
        ("+262 692 12 34 56", (2026, 12, 19), (2026, 12, 21)),  # Saturday 19, 20 is a Sunday and the holiday
        ("+262 639 40 12 34", (2026, 4, 27), (2026, 4, 28)),  # ... in Mayotte
    ],
)
def test_an_overseas_holiday_holds_the_sms_until_the_next_morning_there(number, local_day, next_day):
    rules = recipient_rules(number, "FR", "")
    zone = ZoneInfo(rules.tz)
    late = datetime(*local_day, 20, 30, tzinfo=zone) if local_day == (2026, 12, 19) else datetime(
        *local_day, 10, 0, tzinfo=zone)
    assert deferred_until(late, rules.tz, rules.country, rules.subdiv) == datetime(*next_day, 8, 0, tzinfo=zone)
    # The same day is an ordinary working day in metropolitan France.
    assert deferred_until(paris(*local_day, 10, 0), "Europe/Paris") == paris(*local_day, 10, 0)


def test_alsace_moselle_keeps_good_friday_and_saint_stephen_for_its_customers():
    strasbourg = recipient_rules("06 12 34 56 78", "FR", "67000")
    good_friday = paris(2026, 4, 3, 10, 0)
    assert deferred_until(good_friday, "Europe/Paris") == good_friday
    assert deferred_until(good_friday, strasbourg.tz, strasbourg.country, strasbourg.subdiv) == paris(2026, 4, 4, 8, 0)
    saint_stephen = paris(2026, 12, 26, 10, 0)  # a Saturday: allowed elsewhere, then Sunday 27
    assert deferred_until(saint_stephen, "Europe/Paris") == saint_stephen
    assert deferred_until(saint_stephen, strasbourg.tz, strasbourg.country, strasbourg.subdiv) == paris(
        2026, 12, 28, 8, 0)


def test_a_foreign_number_without_holiday_data_only_keeps_the_hours_and_sundays():
    # Bastille Day is no holiday for a Belgian mobile.
    rules = recipient_rules("+32 470 12 34 56", "BE", "1000")
    assert deferred_until(paris(2026, 7, 14, 10, 0), rules.tz, rules.country) == paris(2026, 7, 14, 10, 0)
    assert deferred_until(paris(2026, 7, 21, 10, 0), rules.tz, rules.country) == paris(2026, 7, 22, 8, 0)  # BE
    assert deferred_until(paris(2026, 7, 14, 10, 0), "Europe/Paris", None) == paris(2026, 7, 14, 10, 0)
