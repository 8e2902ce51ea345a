"""relance.ledger.importers.keys.KeyMap: what a dict does for the importers, in a tenth of the memory."""

from __future__ import annotations

import tracemalloc
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from relance.ledger.importers.keys import KeyMap


@given(st.lists(st.tuples(st.one_of(st.text(max_size=12), st.tuples(st.dates(), st.integers())),
                          st.integers(0, 2**32 - 1))))
def test_it_answers_like_a_dict(pairs):
    keys, expected = KeyMap(), {}
    for key, value in pairs:
        assert (key in keys) == (key in expected)
        assert keys.get(key) == expected.get(key)
        keys[key] = value
        expected[key] = value
    assert len(keys) == len(expected)
    assert all(keys[key] == value for key, value in expected.items())


def test_it_keeps_payment_keys_apart():
    keys = KeyMap()
    keys[(date(2026, 1, 2), Decimal("10.00"), "VIR 1", 7)] = 1
    assert keys.get((date(2026, 1, 2), Decimal("10.00"), "VIR 1", 8), 0) == 0
    assert keys[(date(2026, 1, 2), Decimal("10.0"), "VIR 1", 7)] == 1  # the same amount, as Decimal compares


def test_a_key_takes_about_32_bytes_where_a_dict_takes_over_100():
    # 12 bytes a slot, at most 8/3 slots a key just after the table doubled.
    numbers = [f"F{i:09d}" for i in range(200_000)]
    tracemalloc.start()
    keys = KeyMap()
    for line, number in enumerate(numbers, start=2):
        keys[number] = line
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert size < 36 * len(numbers)
    assert keys[numbers[-1]] == len(numbers) + 1
