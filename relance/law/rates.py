"""The rate tables the late-payment law refers to, read from the data files next to this module.

`ecb_rates.csv` lists the ECB main refinancing rate by date of effect; `taux_legal.csv` the
French legal interest rates per semester. Each file says up to when it was checked
(`# checked_until: YYYY-MM-DD`); past that date the last known rate is carried forward and the
result is flagged as estimated, so that a forgotten update never stops the formal notices.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


class RateTableError(ValueError):
    """A rate file is malformed: the message names the file, the line and the field."""


@dataclass(frozen=True)
class LegalRate:
    start: date
    consumer_creditor: Decimal
    other_cases: Decimal
    source: str


@dataclass(frozen=True)
class RateTable:
    """ECB rate changes (date of effect, percent) and legal rates per semester, both in date order."""

    ecb: tuple[tuple[date, Decimal, str], ...]
    legal: tuple[LegalRate, ...]
    ecb_checked_until: date
    legal_checked_until: date

    def ecb_rate_on(self, day: date) -> Decimal:
        """The ECB main refinancing rate in force on `day` (percent)."""
        index = bisect_right([row[0] for row in self.ecb], day) - 1
        if index < 0:
            raise RateTableError(f"no ECB rate before {self.ecb[0][0]} (asked for {day})")
        return self.ecb[index][1]

    def legal_rate_on(self, day: date) -> LegalRate:
        """The legal interest rates of the semester containing `day`."""
        index = bisect_right([row.start for row in self.legal], day) - 1
        if index < 0:
            raise RateTableError(f"no legal interest rate before {self.legal[0].start} (asked for {day})")
        return self.legal[index]

    def ecb_known(self, day: date) -> bool:
        return day <= self.ecb_checked_until

    def legal_known(self, day: date) -> bool:
        return semester_start(day) <= self.legal_checked_until


def semester_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _rows(text: str, name: str) -> tuple[list[tuple[int, dict]], date]:
    """The CSV rows (with their line numbers) and the checked_until directive of a rate file."""
    checked = None
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            if key.strip() == "checked_until" and value.strip():
                checked = _date(value.strip(), name, number, "checked_until")
            continue
        if line.strip():
            lines.append((number, line))
    if checked is None:
        raise RateTableError(f"{name}: missing '# checked_until: YYYY-MM-DD' line")
    if not lines:
        raise RateTableError(f"{name}: no header line")
    reader = csv.DictReader(io.StringIO("\n".join(line for _, line in lines)))
    rows = [(lines[i + 1][0], row) for i, row in enumerate(reader)]
    return rows, checked


def _date(value: str, name: str, line: int, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise RateTableError(f"{name}, line {line}, field {field}: not a date (YYYY-MM-DD): {value!r}")


def _percent(value: str, name: str, line: int, field: str) -> Decimal:
    try:
        rate = Decimal(value)
    except (TypeError, InvalidOperation):
        raise RateTableError(f"{name}, line {line}, field {field}: not a rate in percent: {value!r}")
    if not rate.is_finite() or not Decimal("-5") <= rate <= Decimal("30"):
        raise RateTableError(f"{name}, line {line}, field {field}: rate out of range: {value!r}")
    return rate


def _in_order(dates: list[date], name: str, lines: list[int]) -> None:
    for previous, current, line in zip(dates, dates[1:], lines[1:], strict=False):
        if current <= previous:
            raise RateTableError(f"{name}, line {line}: dates must increase ({current} after {previous})")


def parse_rate_table(ecb_text: str, legal_text: str, ecb_name: str = "ecb_rates.csv",
                     legal_name: str = "taux_legal.csv") -> RateTable:
    """Build a RateTable from the two files' text; raises RateTableError naming file, line and field."""
    ecb_rows, ecb_checked = _rows(ecb_text, ecb_name)
    ecb = []
    for line, row in ecb_rows:
        ecb.append((
            _date(row.get("effective_date"), ecb_name, line, "effective_date"),
            _percent(row.get("rate"), ecb_name, line, "rate"),
            (row.get("source") or "").strip(),
        ))
        if not ecb[-1][2]:
            raise RateTableError(f"{ecb_name}, line {line}, field source: every rate needs its source")
    _in_order([r[0] for r in ecb], ecb_name, [line for line, _ in ecb_rows])

    legal_rows, legal_checked = _rows(legal_text, legal_name)
    legal = []
    for line, row in legal_rows:
        start = _date(row.get("semester_start"), legal_name, line, "semester_start")
        if start != semester_start(start):
            raise RateTableError(f"{legal_name}, line {line}, field semester_start: not 1 January or 1 July: {start}")
        source = (row.get("source") or "").strip()
        if not source:
            raise RateTableError(f"{legal_name}, line {line}, field source: every rate needs its source")
        legal.append(LegalRate(
            start,
            _percent(row.get("consumer_creditor"), legal_name, line, "consumer_creditor"),
            _percent(row.get("other_cases"), legal_name, line, "other_cases"),
            source,
        ))
    _in_order([r.start for r in legal], legal_name, [line for line, _ in legal_rows])
    if not ecb or not legal:
        raise RateTableError(f"{ecb_name if not ecb else legal_name}: no rates")
    return RateTable(tuple(ecb), tuple(legal), ecb_checked, legal_checked)


@cache
def default_rate_table() -> RateTable:
    """The shipped tables (relance/law/data), read once per process."""
    ecb = DATA_DIR / "ecb_rates.csv"
    legal = DATA_DIR / "taux_legal.csv"
    return parse_rate_table(ecb.read_text(encoding="utf-8"), legal.read_text(encoding="utf-8"),
                            str(ecb), str(legal))
