"""Phone numbers: parse, normalise to E.164, tell a mobile, tell the territory. Pure (phonenumbers).

One rule for the whole application: the planner (which channels a customer can be reached on) and
the SMS and call channels (which number they use) both ask this module, so the planner never picks
an SMS for a number the channel would refuse.

French overseas departments share the national numbering plan: from metropolitan France,
0690 12 34 56 is a Guadeloupe mobile (+590 690 12 34 56). phonenumbers reads a national number in
one region only, so a national number that is not valid in the customer's region is tried in the
other regions of that plan.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as number_zones

# Regions dialled with the French national prefix 0 (metropolitan France and the five DROM).
FRENCH_PLAN = ("FR", "GP", "MQ", "GF", "RE", "YT")
MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
DEFAULT_REGION = "FR"


def parse(number: str, region: str = DEFAULT_REGION) -> PhoneNumber | None:
    """The valid number `number` stands for (national forms read in `region`), or None."""
    region = (region or DEFAULT_REGION).upper()
    text = (number or "").strip()
    if not text:
        return None
    candidates = [region]
    if region in FRENCH_PLAN:
        candidates += [r for r in FRENCH_PLAN if r != region]
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(text, candidate, keep_raw_input=True)
        except NumberParseException:
            return None  # not a number at all: no other region will read it either
        if phonenumbers.is_valid_number(parsed):
            return parsed
        if parsed.country_code_source != phonenumbers.CountryCodeSource.FROM_DEFAULT_COUNTRY:
            return None  # written with its country code: the region we guessed played no part
    return None


def normalise(number: str, region: str = DEFAULT_REGION) -> str | None:
    """The number in E.164 (+33612345678), or None when it is not a valid number."""
    parsed = parse(number, region)
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164) if parsed else None


def is_mobile(number: str, region: str = DEFAULT_REGION) -> bool:
    """A valid number that can receive an SMS (a mobile, or a number the plan does not tell apart)."""
    parsed = parse(number, region)
    return parsed is not None and phonenumbers.number_type(parsed) in MOBILE_TYPES


def region_of(number: str, region: str = DEFAULT_REGION) -> str | None:
    """The territory of the number (FR, GP, RE, YT, BE...), or None when it is not a valid number."""
    parsed = parse(number, region)
    return phonenumbers.region_code_for_number(parsed) if parsed else None


def time_zones_of(number: str, region: str = DEFAULT_REGION) -> tuple[str, ...]:
    """The IANA time zones the number may ring in (one for most countries), () when unknown."""
    parsed = parse(number, region)
    if parsed is None:
        return ()
    return tuple(z for z in number_zones.time_zones_for_number(parsed) if z != number_zones.UNKNOWN_TIMEZONE)
