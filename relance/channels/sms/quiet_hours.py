"""When an SMS may be sent: 08:00 to 20:00 in the organisation's time zone, Monday to Saturday,
never on a French public holiday (the seeds: an SMS is read at once, so it must not wake anyone)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from relance.lib.dates import public_holidays

START = time(8, 0)
END = time(20, 0)
SUNDAY = 6


def _allowed_day(day, country: str, subdiv: str | None) -> bool:
    return day.weekday() != SUNDAY and day not in public_holidays(day.year, country, subdiv)


def deferred_until(now: datetime, tz: str | ZoneInfo, country: str = "FR", subdiv: str | None = None) -> datetime:
    """`now` when an SMS may go now, else the next allowed moment (08:00 local of the next allowed day).

    `now` must be time-zone aware; the answer is in `tz`.
    """
    if now.tzinfo is None:
        raise ValueError("deferred_until needs an aware datetime (django.utils.timezone.now())")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    local = now.astimezone(zone)
    day = local.date()
    if _allowed_day(day, country, subdiv):
        if START <= local.time() < END:
            return local
        if local.time() < START:
            return datetime.combine(day, START, tzinfo=zone)
    day += timedelta(days=1)
    while not _allowed_day(day, country, subdiv):
        day += timedelta(days=1)
    # 08:00 always exists: daylight-saving changes happen at night.
    return datetime.combine(day, START, tzinfo=zone)
