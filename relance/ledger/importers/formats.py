"""Importers of whole documents (e-invoices, invoice PDFs, ...) next to the CSV/XLSX tables.

`relance import KIND FILE` runs the format that lists KIND; `relance import FILE` asks each format's
`detect` in turn which kind the file's content is. Each format registers in one line in the command
(`relance/ledger/management/commands/import_ledger.py`, FORMATS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ImportFormat:
    kinds: tuple[str, ...]
    # (path, first bytes of the file) -> one of `kinds`, or None when the content is not this format's.
    detect: Callable[[Path, bytes], str | None]
    # (command, organisation, kind, path, options) -> None; raises CommandError (returncode 1 or 2).
    run: Callable[..., None]
    help: str = ""
