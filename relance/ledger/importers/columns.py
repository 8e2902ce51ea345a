"""Which column of a file holds which field, and reading one row's cells into field values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from relance.ledger.importers.fields import CONTROL, normalise_label
from relance.ledger.importers.result import FieldError, ImportUsageError


@dataclass(frozen=True)
class Column:
    field: str
    label: str  # the French header, used when the column itself is missing
    aliases: tuple[str, ...]
    parse: Callable[[object], object]
    required: bool = False


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
            raise ImportUsageError(f"--map {source}={target}: champ inconnu (champs: {known})")
        index = positions.get(normalise_label(source))
        if index is None:
            problems.append((source, f"colonne absente du fichier (--map {source}={target})"))
            continue
        chosen[col.field] = index
    explicit = set(chosen.values())
    for index, name in enumerate(header):
        col = by_name.get(normalise_label(name)) if name and index not in explicit else None
        if col is None:
            continue
        if col.field in chosen:
            if chosen[col.field] not in explicit:  # a --map choice wins over a recognised name
                problems.append((name, f"colonne en double (déjà lue en colonne {chosen[col.field] + 1})"))
            continue
        chosen[col.field] = index
    for col in columns:
        if col.required and col.field not in chosen:
            problems.append((col.label, "colonne obligatoire absente"))
    slots = [
        Slot(col.field, chosen[col.field], col.parse, col.required, header[chosen[col.field]] or col.label)
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
                problems.append((header, f"caractère de contrôle interdit (U+{ord(bad.group()):04X})"))
                continue
            raw = raw.strip()
            if not raw:
                if required:
                    problems.append((header, "valeur obligatoire manquante"))
                continue
        try:
            values[field] = parse(raw)
        except FieldError as exc:
            problems.append((header, str(exc)))
    return values, problems


def header_of(slots: list[Slot], field: str, default: str) -> str:
    for slot in slots:
        if slot.field == field:
            return slot.header
    return default
