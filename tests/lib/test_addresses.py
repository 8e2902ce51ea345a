"""When a postal address is complete enough for a letter."""

from __future__ import annotations

import pytest

from relance.lib.addresses import block_lines, is_complete_address, is_complete_block


@pytest.mark.parametrize(
    "street, postcode, city, complete",
    [
        ("3 rue Lafayette", "75009", "Paris", True),
        ("3 rue Lafayette", "75009", "", False),
        ("3 rue Lafayette", "", "Paris", False),
        ("", "75009", "Paris", False),
        ("   ", "75009", "Paris", False),
        ("3 rue Lafayette", " ", "Paris", False),
        (None, None, None, False),
    ],
)
def test_an_address_needs_a_street_a_postcode_and_a_city(street, postcode, city, complete):
    assert is_complete_address(street, postcode, city) is complete


@pytest.mark.parametrize(
    "text, complete",
    [
        ("BP 42\n75009 Paris Cedex 09", True),
        ("  BP 42 \n\n 75009 Paris  \n", True),
        ("BP 42", False),
        ("\n  \n", False),
        ("", False),
        (None, False),
    ],
)
def test_a_free_text_address_needs_two_lines(text, complete):
    assert is_complete_block(text) is complete


def test_the_lines_of_a_free_text_address_are_stripped():
    assert block_lines("  BP 42 \n\n 75009 Paris  \n") == ["BP 42", "75009 Paris"]
