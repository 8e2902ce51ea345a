"""A civility goes with the family name: "Bonjour Madame Martin,", never "Madame Marie Martin"."""

from __future__ import annotations

import pytest

from relance.channels.salutation import salutation, surname


@pytest.mark.parametrize(("name", "family"), [
    ("Martin", "Martin"),
    ("Marie Martin", "Martin"),
    ("Jean-Pierre de La Tour", "de La Tour"),
    ("MARTIN Marie", "Martin"),
    ("LE GALL Yann", "Le Gall"),
    ("DUPONT-MOREAU Anne", "Dupont-Moreau"),
    ("  Pierre   Bernard ", "Bernard"),
    ("", ""),
])
def test_the_family_name_is_taken_from_a_full_name(name, family):
    assert surname(name) == family


def test_greetings_use_the_family_name_with_the_civility():
    assert salutation("M.", "Pierre Bernard", "fr") == "Bonjour Monsieur Bernard,"
    assert salutation("Mme", "Marie Martin", "fr", letter=True) == "Madame Martin,"
    assert salutation("", "Pierre Bernard", "fr") == "Bonjour,"
