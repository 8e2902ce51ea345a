"""The first sheet of an XLSX file as numbered rows, with bounded memory and time.

openpyxl reads the sheet as a stream (read-only mode) but keeps the shared strings in memory, and
pads every row to the width the file claims: so the unzipped sizes are checked before reading, the
rows are cut to the header's width and the cells read are counted (RELANCE_IMPORT_MAX_CELLS).
DTDs and entities (XXE, billion laughs) are refused by defusedxml, which openpyxl uses when installed.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils.translation import pgettext
from openpyxl import load_workbook

from relance.ledger.importers.result import RefusedFile
from relance.ledger.importers.table import EncodingProblem, Table

_CHUNK = 1 << 20
# The XML inside a zip is several times its size. Streamed, it costs time, not memory; the shared
# strings, held in memory, are allowed half of the file limit.
UNZIPPED_PER_BYTE = 5


def open_xlsx(path: Path) -> Table:
    """Open the first sheet; RefusedFile when the file is not a readable, reasonably sized workbook."""
    sha256 = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            sha256.update(chunk)
    _check_archive(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl lets through whatever its parsers meet in a corrupt file
        raise RefusedFile(_unreadable(exc))
    try:
        if not book.worksheets:
            raise RefusedFile(pgettext("import", "workbook without a sheet"))
        sheet = book.worksheets[0]
        budget = [settings.RELANCE_IMPORT_MAX_CELLS]
        line, header = _header(sheet, budget)
        while header and header[-1] == "":
            header.pop()
        rows = sheet.iter_rows(min_row=line + 1, max_col=max(len(header), 1), values_only=True)
        done = [line]
        table = Table(
            path=path, format="xlsx", sha256=sha256.hexdigest(), header=header,
            rows=_numbered(rows, line + 1, done, budget), size=sheet.max_row or 0, position=lambda: done[0],
        )
    except BaseException:
        book.close()
        raise
    table._close.append(book.close)
    return table


def _check_archive(path: Path) -> None:
    limit = settings.RELANCE_IMPORT_MAX_BYTES
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except Exception as exc:  # BadZipFile, but also ValueError, OverflowError… on forged headers
        raise RefusedFile(_unreadable(exc))
    unzipped = sum(m.file_size for m in members)
    if unzipped > UNZIPPED_PER_BYTE * limit:
        raise RefusedFile(pgettext("import", "XLSX file too big once unzipped (%(size)s bytes, at most %(limit)s: "
                                   "RELANCE_IMPORT_MAX_BYTES)")
                          % {"size": unzipped, "limit": UNZIPPED_PER_BYTE * limit})
    strings = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if strings > limit // 2:
        raise RefusedFile(pgettext("import", "XLSX file: shared strings too big (%(size)s bytes, at most %(limit)s)")
                          % {"size": strings, "limit": limit // 2})


def _header(sheet, budget: list[int]) -> tuple[int, list[str]]:
    """The first non-blank row and its line; (1, []) for an empty sheet."""
    rows = sheet.iter_rows(values_only=True)
    try:
        for line, row in enumerate(rows, start=1):
            _spend(budget, len(row), line)
            cells = ["" if c is None else str(c).strip() for c in row]
            if any(cells):
                return line, cells
        return 1, []
    except RefusedFile:
        raise
    except Exception as exc:
        raise RefusedFile(_unreadable(exc))
    finally:
        rows.close()


def _numbered(rows, first: int, done: list[int], budget: list[int]) -> Iterator[tuple[int, list]]:
    line = first - 1
    try:
        for line, row in enumerate(rows, start=first):
            done[0] = line
            _spend(budget, len(row), line)
            cells = ["" if c is None else c for c in row]
            while cells and cells[-1] == "":
                cells.pop()
            if any((c.strip() if isinstance(c, str) else True) for c in cells):
                yield line, cells
    except RefusedFile as exc:
        yield exc.line, EncodingProblem(exc.message)
    except Exception as exc:  # a corrupt sheet: openpyxl parses it as we go
        yield line + 1, EncodingProblem(_unreadable(exc))


def _spend(budget: list[int], cells: int, line: int) -> None:
    budget[0] -= cells
    if budget[0] < 0:
        limit = settings.RELANCE_IMPORT_MAX_CELLS
        raise RefusedFile(pgettext("import", "more than %(limit)s cells read: RELANCE_IMPORT_MAX_CELLS")
                          % {"limit": limit}, line=line)


def _unreadable(exc: BaseException) -> str:
    return pgettext("import", "unreadable XLSX file (%(reason)s)") % {"reason": _reason(exc)}


def _reason(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:  # openpyxl wraps the parser's error
        exc = exc.__cause__ or exc.__context__
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= 200 else text[:200] + "…"
