"""No SMS before 08:00, after 20:00, on Sundays or on French public holidays (local time)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from relance.channels.sms.quiet_hours import deferred_until

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
