"""Is a postal address complete enough for a letter? One rule for the planner and the letter channel.

A customer's own address needs a street, a postcode and a city. A saved postal contact is free
text (e.g. "BP 42 / 75009 Paris Cedex 09"): it needs at least two non-blank lines, the street or
box and the postcode-and-city line. Pure.
"""

from __future__ import annotations


def is_complete_address(street: str | None, postcode: str | None, city: str | None) -> bool:
    """A street line, a postcode and a city, none of them blank."""
    return all((part or "").strip() for part in (street, postcode, city))


def block_lines(text: str | None) -> list[str]:
    """The non-blank lines of a free-text address, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def is_complete_block(text: str | None) -> bool:
    """A free-text address with at least a street (or box) line and a postcode-and-city line."""
    return len(block_lines(text)) >= 2
