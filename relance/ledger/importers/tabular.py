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
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils.translation import pgettext

from relance.ledger.importers.result import ImportUsageError, RefusedFile
from relance.ledger.importers.table import EncodingProblem, Table
from relance.ledger.importers.xlsx import open_xlsx

__all__ = ["EncodingProblem", "Table", "open_table"]

DELIMITERS = (";", ",", "\t", "|")
_CHUNK = 1 << 20
# Longest record and longest physical line read: a cell this long is no ledger's, and the bound keeps
# a file without line breaks (or an unclosed quote) from being read into memory whole.
MAX_FIELD = 1 << 20
_MAX_LINE = 4 * MAX_FIELD
# A lead byte then a continuation byte: where a multibyte sequence may start (a fast first look).
_UTF8_LEAD = re.compile(b"[\xc2-\xf4][\x80-\xbf]")
# Bytes cp1252 leaves undefined: a file holding one of them can only be Latin-1.
_CP1252_HOLES = re.compile(b"[\x81\x8d\x8f\x90\x9d]")
# A well-formed UTF-8 multibyte sequence: a Windows file (cp1252) practically never holds one.
_UTF8_MULTIBYTE = re.compile(
    b"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    b"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    b"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)

csv.field_size_limit(MAX_FIELD)


def open_table(path: str | Path) -> Table:
    """Open a CSV or XLSX file.

    ImportUsageError when it cannot be opened at all (absent, no permission); RefusedFile when it is
    not a regular file, is bigger than RELANCE_IMPORT_MAX_BYTES, or cannot be read as a table.
    """
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise ImportUsageError(pgettext("import", "%(path)s: unreadable file (%(reason)s)")
                               % {"path": path, "reason": exc.strerror or exc})
    # Before opening: a FIFO would block the open, /dev/zero or /dev/urandom never end.
    if not stat.S_ISREG(info.st_mode):
        raise RefusedFile(pgettext("import", "not a regular file (device, pipe or folder): refused"))
    limit = settings.RELANCE_IMPORT_MAX_BYTES
    if info.st_size > limit:
        raise RefusedFile(pgettext(
            "import", "file too big (%(size)s bytes, at most %(limit)s: RELANCE_IMPORT_MAX_BYTES)")
            % {"size": info.st_size, "limit": limit})
    try:
        with path.open("rb") as f:
            magic = f.read(8)
    except OSError as exc:
        raise ImportUsageError(pgettext("import", "%(path)s: unreadable file (%(reason)s)")
                               % {"path": path, "reason": exc.strerror or exc})
    suffix = path.suffix.lower()
    if suffix == ".xls" or magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise RefusedFile(pgettext("import", "XLS format (Excel 97) not supported, save as XLSX or CSV"))
    if suffix in {".xlsx", ".xlsm"} or magic.startswith(b"PK\x03\x04"):
        return open_xlsx(path)
    return _open_csv(path)


def _scan(path: Path) -> tuple[str, str]:
    """One pass over the bytes: the file's SHA-256 and its encoding; RefusedFile for mixed encodings.

    UTF-8 when every byte is (with or without BOM); cp1252 (Latin-1 when it holds a byte cp1252
    lacks) when there is no UTF-8 multibyte sequence at all. A file with both is two files pasted
    together: read as either, part of it would be stored as "SociÃ©tÃ©", so it is refused.
    """
    digest = hashlib.sha256()
    line, first_bad, first_bad_error = 1, 0, ""
    multibyte = holes = False
    head = carry = b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            if not head:
                head = chunk[:4]
            data = carry + chunk
            cut = _safe_cut(data)
            block, carry = data[:cut], data[cut:]
            line, first_bad, first_bad_error, multibyte, holes = _scan_block(
                block, line, first_bad, first_bad_error, multibyte, holes)
        if carry:
            line, first_bad, first_bad_error, multibyte, holes = _scan_block(
                carry, line, first_bad, first_bad_error, multibyte, holes)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return digest.hexdigest(), "utf-16"  # Excel's "Unicode text" export
    bom = head.startswith(codecs.BOM_UTF8)
    if not first_bad:
        return digest.hexdigest(), "utf-8-sig" if bom else "utf-8"
    if bom or multibyte:
        raise RefusedFile(pgettext("import", "mixed encodings: the file is in UTF-8 but this line is not (%(error)s); "
                                   "save the whole file in UTF-8") % {"error": first_bad_error}, line=first_bad)
    # A Windows export. cp1252 and Latin-1 agree on all but 0x80-0x9F, where cp1252 has the
    # letters French needs (€ ’ œ) and Latin-1 only control codes.
    return digest.hexdigest(), "latin-1" if holes else "cp1252"


def _safe_cut(data: bytes) -> int:
    """Where to cut a block for decoding: after its last line break, else before a partial character."""
    cut = data.rfind(b"\n") + 1
    if cut:
        return cut
    cut = len(data)
    while cut > len(data) - 3 and cut > 0 and 0x80 <= data[cut - 1] <= 0xBF:
        cut -= 1
    if cut and data[cut - 1] >= 0xC0:
        cut -= 1  # the lead byte of a sequence whose continuation is in the next block
    return cut


def _scan_block(block: bytes, line: int, first_bad: int, error: str, multibyte: bool, holes: bool):
    if not first_bad:
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as exc:
            first_bad = line + block.count(b"\n", 0, exc.start)
            error = pgettext("import", "invalid byte %(byte)s") % {"byte": block[exc.start:exc.start + 1].hex(" ")}
    if not multibyte:
        # The full pattern is slow on a long Windows file; the simple one rules most blocks out.
        multibyte = _UTF8_LEAD.search(block) is not None and _UTF8_MULTIBYTE.search(block) is not None
    if not holes:
        holes = _CP1252_HOLES.search(block) is not None
    return line + block.count(b"\n"), first_bad, error, multibyte, holes


def _sniff_delimiter(lines: list[str]) -> str:
    """The separator that splits the header into the most columns, agreeing with the next line."""
    header, following = lines[0], lines[1:2]
    best, best_score = ";", (False, 1)
    for delimiter in DELIMITERS:
        try:
            n = len(next(csv.reader([header], delimiter=delimiter)))
            agrees = bool(following) and len(next(csv.reader(following, delimiter=delimiter))) == n
        except csv.Error:  # a cell over the limit, or a quote left open: the reader will say where
            continue
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
    reader = csv.reader(_bounded_lines(text), delimiter=delimiter)
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
    """The first two non-blank lines, from the first 64 KiB only (enough for any header)."""
    with path.open("r", encoding=encoding, newline="") as f:
        head = f.read(1 << 16)
    return [line for line in head.splitlines() if line.strip()][:2]


class LineTooLong(Exception):
    pass


def _bounded_lines(text: io.TextIOBase) -> Iterator[str]:
    while line := text.readline(_MAX_LINE):
        if len(line) == _MAX_LINE and not line.endswith(("\n", "\r")):
            raise LineTooLong(pgettext("import", "line of more than %(max)s characters") % {"max": _MAX_LINE})
        yield line


def _numbered_csv(reader) -> Iterator[tuple[int, list]]:
    """Records with the line they start on; a decoding error becomes a row of its own."""
    last = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            # Only when the detection was fooled (UTF-16 with a broken pair): report it.
            yield last + 1, EncodingProblem(str(exc))
            return
        except (LineTooLong, csv.Error) as exc:
            # On the line the record starts: an unclosed quote is found far below it.
            yield last + 1, EncodingProblem(pgettext("import", "malformed CSV: %(error)s") % {"error": exc})
            return
        start, last = last + 1, reader.line_num
        if any(c.strip() for c in cells):
            yield start, cells
