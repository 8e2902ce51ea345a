"""A compact map from the keys of a file's rows to small whole numbers (first line, count).

The importers remember every invoice number, customer code or payment key of a file to report
duplicates with the line that came first. In a dict, each key costs about 130 bytes: 300 MB for
the 2.25 million rows of a 200 MB file. Here a key is its 64-bit hash in an array, 16 to 32 bytes.
Two different keys of one file share a hash with a chance of about n²/2⁶⁵ (one in seven million
for two million keys): a file would then be refused for a duplicate it does not hold, or a
payment without identifier taken for a new one rather than for its identical twin already stored.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable

_MASK64 = (1 << 64) - 1


class KeyMap:
    """key -> whole number in 0..2³²-1, by open addressing over two arrays (hash, value)."""

    __slots__ = ("_hashes", "_values", "_mask", "_count")

    def __init__(self) -> None:
        self._allocate(1024)
        self._count = 0

    def _allocate(self, capacity: int) -> None:
        self._hashes = array("Q", bytes(8 * capacity))  # 0 marks an empty slot
        self._values = array("I", bytes(4 * capacity))
        self._mask = capacity - 1

    def __len__(self) -> int:
        return self._count

    def _slot(self, h: int) -> int:
        hashes, mask = self._hashes, self._mask
        i = h & mask
        while hashes[i] and hashes[i] != h:
            i = (i + 1) & mask
        return i

    def get(self, key: Hashable, default: int | None = None) -> int | None:
        h = _hash(key)
        i = self._slot(h)
        return self._values[i] if self._hashes[i] else default

    def __contains__(self, key: Hashable) -> bool:
        return bool(self._hashes[self._slot(_hash(key))])

    def __getitem__(self, key: Hashable) -> int:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: Hashable, value: int) -> None:
        h = _hash(key)
        i = self._slot(h)
        if not self._hashes[i]:
            if 4 * (self._count + 1) > 3 * len(self._hashes):  # at most three quarters full: probes stay short
                self._grow()
                i = self._slot(h)
            self._hashes[i] = h
            self._count += 1
        self._values[i] = value

    def _grow(self) -> None:
        hashes, values = self._hashes, self._values
        self._allocate(2 * len(hashes))
        for h, value in zip(hashes, values, strict=True):
            if h:
                i = self._slot(h)
                self._hashes[i] = h
                self._values[i] = value


def _hash(key: Hashable) -> int:
    return (hash(key) & _MASK64) or 1
