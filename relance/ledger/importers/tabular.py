"""Reading a CSV or XLSX file as numbered rows of cells, streaming.

CSV: encoding (UTF-8 with or without BOM, UTF-16 with BOM, else cp1252 or Latin-1) and separator
(`;` `,` tab `|`) are detected. XLSX: the first sheet, through openpyxl's read-only mode.
Either way the file is never held in memory, and line numbers are the file's (header = 1).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from relance.ledger.importers.result import ImportUsageError

DELIMITERS = (";", ",", "\t", "|")
_CHUNK = 1 << 20
# Bytes cp1252 leaves undefined: a file holding one of them can only be Latin-1.
_CP1252_HOLES = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")

csv.field_size_limit(1 << 20)


@dataclass
class Table:
    path: Path
    format: str  # "csv" or "xlsx"
    sha256: str
    header: list[str]
    rows: Iterator[tuple[int, list]]  # (line number, cells), blank rows skipped
    size: int  # for progress: bytes (CSV) or rows (XLSX)
    position: Callable[[], int]
    encoding: str = ""
    delimiter: str = ""
    _close: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in self._close:
            close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_table(path: str | Path) -> Table:
    """Open a CSV or XLSX file; ImportUsageError when it cannot be read at all."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            magic = f.read(8)
    except OSError as exc:
        raise ImportUsageError(f"{path}: fichier illisible ({exc.strerror or exc})")
    suffix = path.suffix.lower()
    if suffix == ".xls" or magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportUsageError(f"{path}: format XLS (Excel 97) non pris en charge, enregistrez en XLSX ou CSV")
    if suffix in {".xlsx", ".xlsm"} or magic.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    return _open_csv(path)


def _scan(path: Path) -> tuple[str, str]:
    """One pass over the bytes: the file's SHA-256 and its encoding."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, cp1252 = True, True
    head = b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            if not head:
                head = chunk[:4]
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if cp1252 and any(hole in chunk for hole in _CP1252_HOLES):
                cp1252 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # Excel's "Unicode text" export
    elif utf8:
        encoding = "utf-8"
    else:
        # Not UTF-8: a Windows export. cp1252 and Latin-1 agree on all but 0x80-0x9F, where
        # cp1252 has the letters French needs (€ ’ œ) and Latin-1 only control codes.
        encoding = "cp1252" if cp1252 else "latin-1"
    return digest.hexdigest(), encoding


def _sniff_delimiter(lines: list[str]) -> str:
    """The separator that splits the header into the most columns, agreeing with the next line."""
    header, following = lines[0], lines[1:2]
    best, best_score = ";", (False, 1)
    for delimiter in DELIMITERS:
        n = len(next(csv.reader([header], delimiter=delimiter)))
        agrees = bool(following) and len(next(csv.reader(following, delimiter=delimiter))) == n
        score = (agrees or not following, n)
        if n > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _open_csv(path: Path) -> Table:
    sha256, encoding = _scan(path)
    size = path.stat().st_size
    raw = path.open("rb")
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    try:
        first = _first_lines(path, encoding)
    except UnicodeDecodeError:
        first = []
    delimiter = _sniff_delimiter(first) if first else ";"
    reader = csv.reader(text, delimiter=delimiter)
    numbered = _numbered_csv(reader)
    _, header = next(numbered, (1, []))
    table = Table(
        path=path, format="csv", sha256=sha256, rows=numbered,
        header=header if isinstance(header, EncodingProblem) else [h.strip() for h in header],
        size=size, position=raw.tell, encoding=encoding, delimiter=delimiter,
    )
    table._close.append(text.close)
    return table


def _first_lines(path: Path, encoding: str) -> list[str]:
    with path.open("r", encoding=encoding, newline="") as f:
        lines = []
        for line in f:
            if line.strip():
                lines.append(line.rstrip("\r\n"))
            if len(lines) == 2:
                break
    return lines


def _numbered_csv(reader) -> Iterator[tuple[int, list]]:
    """Records with the line they start on; a decoding error becomes a row of its own."""
    last = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            # Only when the detection was fooled (a stray byte far into the file): report it.
            yield last + 1, EncodingProblem(str(exc))
            return
        except csv.Error as exc:
            yield reader.line_num, EncodingProblem(f"CSV mal formé: {exc}")
            return
        start, last = last + 1, reader.line_num
        if any(c.strip() for c in cells):
            yield start, cells


class EncodingProblem(list):
    """A row that could not be read; the runner reports it as a problem of the whole line."""

    def __init__(self, message: str):
        super().__init__()
        self.message = message


def _open_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    sha256 = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            sha256.update(chunk)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportUsageError(f"{path}: fichier XLSX illisible ({exc})")
    if not book.worksheets:
        book.close()
        raise ImportUsageError(f"{path}: classeur sans feuille")
    sheet = book.worksheets[0]
    done = [0]
    numbered = _numbered_xlsx(sheet.iter_rows(values_only=True), done)
    _, header = next(numbered, (1, []))
    header = ["" if h is None else str(h).strip() for h in header]
    table = Table(
        path=path, format="xlsx", sha256=sha256.hexdigest(), header=header, rows=numbered,
        size=sheet.max_row or 0, position=lambda: done[0],
    )
    table._close.append(book.close)
    return table


def _numbered_xlsx(rows, done: list[int]) -> Iterator[tuple[int, list]]:
    for line, row in enumerate(rows, start=1):
        done[0] = line
        cells = ["" if c is None else c for c in row]
        while cells and cells[-1] == "":
            cells.pop()
        if any((c.strip() if isinstance(c, str) else True) for c in cells):
            yield line, cells
