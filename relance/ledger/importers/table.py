"""A file read as numbered rows of cells, whatever its format (CSV in tabular.py, XLSX in xlsx.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


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



class EncodingProblem(list):
    """A row that could not be read; the runner reports it as a problem of the whole line."""

    def __init__(self, message: str):
        super().__init__()
        self.message = message
