"""What an import did, and the problems that made it refuse a file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.utils.translation import pgettext

# Past this many problems we only count: a file with a wrong date format on every one of
# its million lines must not need gigabytes to say so.
MAX_KEPT_ERRORS = 100_000


class ImportUsageError(Exception):
    """The import cannot start: unknown kind, unreadable or unsupported file, bad --map."""


class RefusedFile(Exception):
    """The file cannot be read as a table (not a regular file, too big, corrupt, mixed encodings).

    The import refuses it as a whole, like any other bad input (exit 1): reported on `line`, or on
    the file itself when `line` is 0.
    """

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.message, self.line = message, line


class FieldError(ValueError):
    """A cell that cannot be read as its field; the message says why, in the active language."""


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "message": self.message}


@dataclass
class ImportResult:
    kind: str
    filename: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    more_errors: int = 0  # problems found beyond MAX_KEPT_ERRORS
    dry_run: bool = False
    batch_id: int | None = None
    # Side effects worth telling a person, e.g. {"customers_created": 3}; not part of the JSON.
    extra: dict[str, int] = field(default_factory=dict)
    # Lines imported but worth a look (e.g. a payment term beyond the legal maximum): never refuse a file.
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.more_errors

    def add_error(self, line: int, field_name: str, message: str) -> None:
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(Problem(line, field_name, message))
        else:
            self.more_errors += 1

    def add_warning(self, line: int, field_name: str, message: str) -> None:
        if len(self.warnings) < MAX_KEPT_ERRORS:
            self.warnings.append(Problem(line, field_name, message))

    def as_dict(self) -> dict:
        out = {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [p.as_dict() for p in sorted(self.errors, key=_order)],
        }
        if self.warnings:  # only when there are some: the summary of a clean file keeps its four keys
            out["warnings"] = [p.as_dict() for p in sorted(self.warnings, key=_order)]
        return out

    def as_json(self) -> str:
        """The machine-readable summary: {"created", "updated", "unchanged", "errors": [...]} (+ "warnings")."""
        return json.dumps(self.as_dict(), ensure_ascii=False)

    def error_lines(self, limit: int = 50) -> list[str]:
        """`file:line: field: message` (`file: message` for the whole file) for the first `limit` problems."""
        ordered = sorted(self.errors, key=_order)
        lines = [f"{self.filename}:{p.line}: {p.field}: {p.message}" if p.line else f"{self.filename}: {p.message}"
                 for p in ordered[:limit]]
        rest = self.error_count - min(limit, len(ordered))
        if rest > 0:
            lines.append(pgettext("import", "... and %(count)s more problems") % {"count": rest})
        return lines

    def warning_lines(self, limit: int = 50) -> list[str]:
        """`file:line: field: warning: message` for the first `limit` warnings."""
        ordered = sorted(self.warnings, key=_order)
        warning = pgettext("import", "warning:")
        lines = [f"{self.filename}:{p.line}: {p.field}: {warning} {p.message}" for p in ordered[:limit]]
        if len(ordered) > limit:
            lines.append(pgettext("import", "... and %(count)s more warnings") % {"count": len(ordered) - limit})
        return lines


def _order(p: Problem) -> tuple[int, str]:
    return (p.line, p.field)
