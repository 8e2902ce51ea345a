"""Writers of small import files for the importer tests (CSV in any encoding, XLSX)."""

from __future__ import annotations

from pathlib import Path

from django.db.models import Sum


def write_csv(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """A CSV file from a text whose lines are written as they are (header on line 1)."""
    path = directory / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(directory: Path, name: str, rows: list[list]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    path = directory / name
    book.save(path)
    return path


def assert_balance_invariant(invoice) -> None:
    """open_balance == total - allocations, and the status that goes with it."""
    from relance.ledger import balances

    invoice.refresh_from_db()
    allocated = invoice.allocations.aggregate(s=Sum("amount"))["s"] or 0
    assert invoice.open_balance == invoice.total - allocated
    assert invoice.status == balances.status_for(invoice.total, invoice.open_balance, invoice.status)
