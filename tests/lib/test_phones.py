"""One rule for phone numbers: real French numbers, overseas departments, foreign mobiles, garbage."""

from __future__ import annotations

import pytest

from relance.lib.phones import is_mobile, normalise, region_of

# (as typed, customer's country, E.164 or None, mobile, territory)
NUMBERS = [
    ("06 12 34 56 78", "FR", "+33612345678", True, "FR"),
    ("07 81 23 45 67", "FR", "+33781234567", True, "FR"),
    ("06.12.34.56.78", "FR", "+33612345678", True, "FR"),
    ("0612345678", "FR", "+33612345678", True, "FR"),
    ("+33 6 12 34 56 78", "FR", "+33612345678", True, "FR"),
    ("+33 (0)6 12 34 56 78", "FR", "+33612345678", True, "FR"),
    ("0033 7 81 23 45 67", "FR", "+33781234567", True, "FR"),
    ("+33781234567", "BE", "+33781234567", True, "FR"),
    ("01 45 67 89 10", "FR", "+33145678910", False, "FR"),
    ("02 40 12 34 56", "FR", "+33240123456", False, "FR"),
    ("03 20 12 34 56", "FR", "+33320123456", False, "FR"),
    ("04 72 00 00 00", "FR", "+33472000000", False, "FR"),
    ("05 56 12 34 56", "FR", "+33556123456", False, "FR"),
    ("09 70 12 34 56", "FR", "+33970123456", False, "FR"),
    ("+33 1 45 67 89 10", "FR", "+33145678910", False, "FR"),
    ("+590 690 12 34 56", "FR", "+590690123456", True, "GP"),
    ("0690 12 34 56", "FR", "+590690123456", True, "GP"),  # dialled from metropolitan France
    ("0590 12 34 56", "FR", "+590590123456", False, "GP"),
    ("+596 696 12 34 56", "FR", "+596696123456", True, "MQ"),
    ("0696 12 34 56", "MQ", "+596696123456", True, "MQ"),
    ("+594 694 12 34 56", "FR", "+594694123456", True, "GF"),
    ("+262 692 12 34 56", "FR", "+262692123456", True, "RE"),
    ("+262 693 12 34 56", "FR", "+262693123456", True, "RE"),
    ("0692 12 34 56", "RE", "+262692123456", True, "RE"),
    ("0262 12 34 56", "RE", "+262262123456", False, "RE"),
    ("+262 639 40 12 34", "FR", "+262639401234", True, "YT"),
    ("0639 40 12 34", "FR", "+262639401234", True, "YT"),
    ("+508 55 12 34", "FR", "+508551234", True, "PM"),
    ("+689 87 12 34 56", "FR", "+68987123456", True, "PF"),
    ("+32 470 12 34 56", "FR", "+32470123456", True, "BE"),
    ("0470 12 34 56", "BE", "+32470123456", True, "BE"),
    ("+49 1512 3456789", "FR", "+4915123456789", True, "DE"),
    ("+44 7911 123456", "FR", "+447911123456", True, "GG"),
    ("+1 514 555 0123", "FR", "+15145550123", True, "CA"),  # North America: mobile or fixed, unknown
    ("abc", "FR", None, False, None),
    ("", "FR", None, False, None),
    ("+33", "FR", None, False, None),
    ("00000", "FR", None, False, None),
    ("06 12", "FR", None, False, None),
    ("07 12 34 56 78", "FR", None, False, None),  # not allocated by the ARCEP
    ("+33 690 12 34 56", "FR", None, False, None),  # a Guadeloupe mobile under the wrong country code
    ("0612345678", "BE", None, False, None),  # a French national number read as Belgian
]


@pytest.mark.parametrize("number, country, e164, mobile, region", NUMBERS)
def test_it_reads_the_number_the_same_way_everywhere(number, country, e164, mobile, region):
    assert normalise(number, country) == e164
    assert is_mobile(number, country) is mobile
    assert region_of(number, country) == region


def test_a_blank_or_missing_country_means_france():
    assert normalise("06 12 34 56 78", "") == "+33612345678"
    assert is_mobile("06 12 34 56 78", "fr")
