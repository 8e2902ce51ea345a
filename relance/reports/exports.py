"""The reports as files: JSON, CSV, XLSX (openpyxl, amounts as numbers in a euro format) and PDF
(WeasyPrint, relance.lib.pdf). Each writer takes a table (headers and rows of plain values) so that
the aged balance and the KPIs share them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font

from relance.lib.pdf import html_to_pdf
from relance.reports.aged import BUCKETS, AgedBalance, as_json, money_text
from relance.web.templatetags.relance_format import money, percent

FORMATS = ("json", "csv", "xlsx", "pdf")
CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
EURO_FORMAT = '#,##0.00 "€";-#,##0.00 "€"'
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"


@dataclass
class Table:
    """A sheet: a title, column headers, rows of str / Decimal / int / date / None, the total row."""

    title: str
    headers: list[str]
    rows: list[list]
    total: list | None = None
    currency: str = "EUR"
    # Column indexes holding shares (0.25 = 25 %) rather than money.
    percent_columns: Sequence[int] = ()


def bucket_label(low: int | None, high: int | None) -> str:
    """A bucket of days past due, for people: "Not due", "1–30 days", "More than 120 days"."""
    if low is None:
        return pgettext("reports", "Not due")
    if high is None:
        return pgettext("reports", "More than %(days)s days") % {"days": low - 1}
    return pgettext("reports", "%(low)s–%(high)s days") % {"low": low, "high": high}


def aged_table(aged: AgedBalance) -> Table:
    headers = [pgettext("reports", "Customer code"), pgettext("reports", "Customer"),
               pgettext("reports", "Total")] + [bucket_label(low, high) for _, low, high in BUCKETS]
    rows = [[c.external_id, c.name, c.total, *c.buckets.values()] for c in aged.customers]
    total = ["", pgettext("reports", "Total"), aged.total, *aged.buckets.values()]
    title = pgettext("reports", "Aged balance as of %(day)s") % {"day": aged.as_of.isoformat()}
    return Table(title, headers, rows, total, aged.currency)


def _plain(value) -> str:
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM (spreadsheets then read the accents), amounts with a dot and two decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows + ([table.total] if table.total else []):
        writer.writerow([_plain(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """One sheet; amounts are numbers with a currency format, shares with a percent format."""
    book = Workbook()
    sheet = book.active
    sheet.title = table.title[:31].replace("/", "-")
    money_format = EURO_FORMAT if table.currency == "EUR" else MONEY_FORMAT
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows + ([table.total] if table.total else []):
        # Decimals go in as they are: openpyxl writes their exact digits into the file.
        sheet.append(row)
        for index, cell in enumerate(sheet[sheet.max_row]):
            if isinstance(row[index], Decimal):
                cell.number_format = PERCENT_FORMAT if index in table.percent_columns else money_format
    if table.total:
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    for index, header in enumerate(table.headers, start=1):
        width = max([len(header)] + [len(_plain(r[index - 1])) for r in table.rows[:200]])
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(max(width + 2, 10), 50)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _shown(table: Table, row: list) -> list[dict]:
    cells = []
    for index, value in enumerate(row):
        if isinstance(value, Decimal):
            text = percent(value, 1) if index in table.percent_columns else money(value, table.currency)
            cells.append({"text": text, "num": True})
        else:
            cells.append({"text": _plain(value), "num": isinstance(value, int)})
    return cells


def to_pdf(table: Table, org_name: str) -> bytes:
    """A landscape A4 table, amounts as people read them, the total row last."""
    rows = [_shown(table, row) for row in table.rows]
    total = _shown(table, table.total) if table.total else None
    first = rows[0] if rows else total
    headers = [{"text": h, "num": bool(first and first[i]["num"])} for i, h in enumerate(table.headers)]
    html = render_to_string("reports/table.html", {
        "title": table.title, "org_name": org_name, "headers": headers, "rows": rows, "total": total,
    })
    return html_to_pdf(html)


def aged_file(aged: AgedBalance, fmt: str, org_name: str) -> bytes:
    """The aged balance in one of FORMATS."""
    if fmt == "json":
        return json.dumps(as_json(aged), ensure_ascii=False, indent=2).encode("utf-8")
    return table_file(aged_table(aged), fmt, org_name)


def table_file(table: Table, fmt: str, org_name: str = "") -> bytes:
    if fmt == "csv":
        return to_csv(table)
    if fmt == "xlsx":
        return to_xlsx(table)
    if fmt == "pdf":
        return to_pdf(table, org_name)
    raise ValueError(f"format {fmt!r}: expected one of csv, xlsx, pdf")
