"""When an SMS may be sent: 08:00 to 20:00 in the recipient's time zone, Monday to Saturday, never on
a public holiday where the recipient lives (the seeds: an SMS is read at once, it must not wake anyone).

Where the recipient lives comes from the number first (a +590 mobile rings in Guadeloupe, whatever
the customer's address), then, for a metropolitan number, from the customer's postcode: Alsace-Moselle
keeps Good Friday and 26 December, and a metropolitan mobile may belong to someone in Réunion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from relance.lib import phones
from relance.lib.dates import public_holidays, subdivision_for_postcode

START = time(8, 0)
END = time(20, 0)
SUNDAY = 6
PARIS = "Europe/Paris"

# The French territories with their own calling code: their zone and their `holidays` subdivision.
TERRITORIES = {
    "GP": ("America/Guadeloupe", "971"), "MQ": ("America/Martinique", "972"), "GF": ("America/Cayenne", "973"),
    "RE": ("Indian/Reunion", "974"), "YT": ("Indian/Mayotte", "976"), "PM": ("America/Miquelon", "PM"),
    "BL": ("America/St_Barthelemy", "BL"), "MF": ("America/Marigot", "MF"), "PF": ("Pacific/Tahiti", "PF"),
    "NC": ("Pacific/Noumea", "NC"), "WF": ("Pacific/Wallis", "WF"),
}
SUBDIVISION_ZONES = {subdiv: zone for zone, subdiv in TERRITORIES.values()}
FRENCH_COUNTRIES = {"FR", *TERRITORIES}


@dataclass(frozen=True)
class LocalRules:
    """Where an SMS lands: its time zone and whose public holidays apply (no holidays when country is None)."""

    tz: str
    country: str | None = "FR"
    subdiv: str | None = None


def recipient_rules(number: str, country: str, postcode: str, default_tz: str = PARIS) -> LocalRules:
    """The time zone and holidays of the person a number reaches (see the module's docstring)."""
    country = (country or "FR").upper()
    territory = phones.region_of(number, country)
    if territory in TERRITORIES:
        zone, subdiv = TERRITORIES[territory]
        return LocalRules(zone, "FR", subdiv)
    if territory == "FR" or (territory is None and country in FRENCH_COUNTRIES):
        subdiv = subdivision_for_postcode(postcode) if country in FRENCH_COUNTRIES else None
        return LocalRules(SUBDIVISION_ZONES.get(subdiv or "", PARIS if territory else default_tz), "FR", subdiv)
    if territory is None:
        return LocalRules(default_tz, None)
    zones = phones.time_zones_of(number, country)
    supported = territory in holidays.list_supported_countries()
    # A country over several zones (Canada, the United States): the organisation's zone, the safe guess.
    return LocalRules(zones[0] if len(zones) == 1 else default_tz, territory if supported else None)


def _allowed_day(day, country: str | None, subdiv: str | None) -> bool:
    if day.weekday() == SUNDAY:
        return False
    return country is None or day not in public_holidays(day.year, country, subdiv)


def deferred_until(now: datetime, tz: str | ZoneInfo, country: str | None = "FR", subdiv: str | None = None
                   ) -> datetime:
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
