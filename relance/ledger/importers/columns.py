"""Which column of a file holds which field, and reading one row's cells into field values."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import pgettext

from relance.ledger.importers.fields import CONTROL, normalise_label
from relance.ledger.importers.result import FieldError, ImportUsageError


@dataclass(frozen=True)
class Column:
    field: str
    label: str  # the French header: recognised in a file like the aliases
    aliases: tuple[str, ...]
    parse: Callable[[object], object]
    required: bool = False
    # The field's name in the reports when the file has no column for it (pgettext_lazy, context
    # "import column"): translated when shown, so a report is in the language of whoever runs the import.
    title: str | Promise = dataclasses.field(kw_only=True)

    @property
    def shown(self) -> str:
        return str(self.title)


@dataclass(frozen=True, slots=True)
class Slot:
    """A field found in the file: where, how to read it, and what the file calls it."""

    field: str
    index: int
    parse: Callable[[object], object]
    required: bool
    header: str


def resolve(
    header: list[str], columns: list[Column], mapping: dict[str, str] | None = None
) -> tuple[list[Slot], list[tuple[str, str]]]:
    """Match the header against the known names (and `mapping`: file column -> field).

    Returns the slots and the problems of the header (missing or doubled columns), each as
    (field label, message). Raises ImportUsageError for a mapping naming an unknown field.
    """
    by_name: dict[str, Column] = {}
    for col in columns:
        for name in (col.field, col.label, *col.aliases):
            by_name.setdefault(normalise_label(name), col)
    positions = {normalise_label(h): i for i, h in reversed(list(enumerate(header))) if h}
    chosen: dict[str, int] = {}
    problems: list[tuple[str, str]] = []
    for source, target in (mapping or {}).items():
        col = by_name.get(normalise_label(target))
        if col is None:
            known = ", ".join(c.field for c in columns)
            raise ImportUsageError(pgettext("import", "--map %(source)s=%(target)s: unknown field (fields: %(known)s)")
                                   % {"source": source, "target": target, "known": known})
        index = positions.get(normalise_label(source))
        if index is None:
            problems.append((source, pgettext("import", "column not in the file (--map %(source)s=%(target)s)")
                             % {"source": source, "target": target}))
            continue
        chosen[col.field] = index
    explicit = set(chosen.values())
    for index, name in enumerate(header):
        col = by_name.get(normalise_label(name)) if name and index not in explicit else None
        if col is None:
            continue
        if col.field in chosen:
            if chosen[col.field] not in explicit:  # a --map choice wins over a recognised name
                problems.append((name, pgettext("import", "duplicate column (already read in column %(column)s)")
                                 % {"column": chosen[col.field] + 1}))
            continue
        chosen[col.field] = index
    for col in columns:
        if col.required and col.field not in chosen:
            problems.append((col.shown, pgettext("import", "required column missing")))
    slots = [
        Slot(col.field, chosen[col.field], col.parse, col.required, header[chosen[col.field]] or col.shown)
        for col in columns
        if col.field in chosen
    ]
    return slots, problems


Plan = list[tuple[str, int, Callable[[object], object], bool, str]]


def plan_of(slots: list[Slot]) -> Plan:
    """The slots as plain tuples: read_row runs once per line of million-line files."""
    return [(s.field, s.index, s.parse, s.required, s.header) for s in slots]


def read_row(cells: list, plan: Plan) -> tuple[dict, list[tuple[str, str]]]:
    """The parsed values of the non-empty cells, and the problems as (column header, message)."""
    values: dict = {}
    problems: list[tuple[str, str]] = []
    width = len(cells)
    for field, index, parse, required, header in plan:
        raw = cells[index] if index < width else ""
        if raw.__class__ is str:
            if bad := CONTROL.search(raw):
                # A NUL stops PostgreSQL and cuts a C string; the others have no place in a ledger.
                problems.append((header, pgettext("import", "control character not allowed (U+%(code)s)")
                                 % {"code": f"{ord(bad.group()):04X}"}))
                continue
            raw = raw.strip()
            if not raw:
                if required:
                    problems.append((header, pgettext("import", "required value missing")))
                continue
        try:
            values[field] = parse(raw)
        except FieldError as exc:
            problems.append((header, str(exc)))
    return values, problems


def labels(slots: list[Slot], columns: list[Column]) -> dict[str, str]:
    """Field -> its name in the reports: the file's own header, else the field's title in the active language."""
    found = {slot.field: slot.header for slot in slots}
    return {c.field: found.get(c.field) or c.shown for c in columns}
