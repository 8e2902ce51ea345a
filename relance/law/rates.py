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


ECB_FILE, LEGAL_FILE = "ecb_rates.csv", "taux_legal.csv"
# Where `relance rates update` writes newer tables (RELANCE_DATA_DIR/rates): set by the app at start.
_updates_dir: list[Path] = []


def set_updates_dir(path: Path) -> None:
    """Tables found in `path` (written by `relance rates update`) replace the shipped ones."""
    _updates_dir[:] = [Path(path)]
    default_rate_table.cache_clear()


def table_paths() -> tuple[Path, Path]:
    """The two files in use: each updated one when present, else the shipped one."""
    def pick(name: str) -> Path:
        for folder in _updates_dir:
            if (folder / name).is_file():
                return folder / name
        return DATA_DIR / name
    return pick(ECB_FILE), pick(LEGAL_FILE)


@cache
def default_rate_table() -> RateTable:
    """The tables in use (see table_paths), read once per process."""
    ecb, legal = table_paths()
    return parse_rate_table(ecb.read_text(encoding="utf-8"), legal.read_text(encoding="utf-8"),
                            str(ecb), str(legal))


def table_kind(text: str) -> str:
    """ECB_FILE or LEGAL_FILE, told by the header line of a rate file."""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        header = [h.strip() for h in line.split(",")]
        if header[:1] == ["effective_date"]:
            return ECB_FILE
        if header[:1] == ["semester_start"]:
            return LEGAL_FILE
        raise RateTableError(f"header {line!r}: expected 'effective_date,rate,source' (ECB) or "
                             "'semester_start,consumer_creditor,other_cases,source' (taux légal)")
    raise RateTableError("no header line")


def check_update(text: str, name: str) -> tuple[str, RateTable]:
    """Validate a new ECB or legal-rate file against the table in use; returns its kind and the new table.

    The new file must parse, keep every row of the table in use (same date, same rates) and not
    move checked_until back: an update adds rates, it never rewrites history silently."""
    kind = table_kind(text)
    current = default_rate_table()
    ecb_path, legal_path = table_paths()
    if kind == ECB_FILE:
        new = parse_rate_table(text, legal_path.read_text(encoding="utf-8"), name, str(legal_path))
        old_rows = {d: r for d, r, _ in current.ecb}
        new_rows = {d: r for d, r, _ in new.ecb}
        old_checked, new_checked = current.ecb_checked_until, new.ecb_checked_until
    else:
        new = parse_rate_table(ecb_path.read_text(encoding="utf-8"), text, str(ecb_path), name)
        old_rows = {r.start: (r.consumer_creditor, r.other_cases) for r in current.legal}
        new_rows = {r.start: (r.consumer_creditor, r.other_cases) for r in new.legal}
        old_checked, new_checked = current.legal_checked_until, new.legal_checked_until
    for day, rate in old_rows.items():
        if new_rows.get(day) != rate:
            raise RateTableError(f"{name}: the row of {day} is missing or differs from the table in use")
    if new_checked < old_checked:
        raise RateTableError(f"{name}: checked_until {new_checked} is before the table in use ({old_checked})")
    return kind, new


def missing_half_years(table: RateTable, today: date) -> list[str]:
    """The current and next half-years whose ECB or legal rate the table does not know."""
    current = semester_start(today)
    following = date(current.year, 7, 1) if current.month == 1 else date(current.year + 1, 1, 1)
    out = []
    for start in (current, following):
        label = f"{start.year}-H{1 if start.month == 1 else 2}"
        if not table.ecb_known(start):
            out.append(f"{label}: taux BCE")
        if not table.legal_known(start):
            out.append(f"{label}: taux de l'intérêt légal")
    return out
