"""The reports as files: JSON, CSV, XLSX (openpyxl, amounts as numbers in a euro format) and PDF
(WeasyPrint, relance.lib.pdf). Each writer takes a table (headers and rows of plain values) so that
the aged balance and the KPIs share them."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font

from relance.lib.pdf import html_to_pdf
from relance.reports.aged import BUCKETS, AgedBalance, as_json, money_text
from relance.reports.kpi import WINDOWS, Kpis
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
NUMBER_FORMATS = {"percent": "0.0%", "days": "0.0"}


@dataclass
class Table:
    """A sheet: a title, column headers, rows of str / Decimal / int / date / None, the total row."""

    title: str
    headers: list[str]
    rows: list[list]
    total: list | None = None
    currency: str = "EUR"
    # Decimal columns that are not money: index -> "percent" (0.25 = 25 %) or "days".
    formats: dict[int, str] = field(default_factory=dict)


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


def _plain(value, kind: str | None = None) -> str:
    if isinstance(value, Decimal):
        return str(value) if kind else money_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def kpi_tables(k: Kpis) -> tuple[Table, Table]:
    """The period's figures (one row) and the reminders that work (a row per step and channel)."""
    period = {"start": k.start.isoformat(), "end": k.end.isoformat()}
    p = k.promises
    figures = Table(
        pgettext("reports", "KPIs %(start)s to %(end)s") % period,
        [pgettext("reports", "From"), pgettext("reports", "To"), pgettext("reports", "Sales"),
         pgettext("reports", "Receivables at the start"), pgettext("reports", "Receivables at the end"),
         pgettext("reports", "Not due at the end"), pgettext("reports", "DSO, simple method (days)"),
         pgettext("reports", "DSO, count-back method (days)"),
         pgettext("reports", "Average payment delay (days after due date)"),
         pgettext("reports", "Collection effectiveness index (%)"), pgettext("reports", "Overdue share"),
         pgettext("reports", "Promises kept"), pgettext("reports", "Promises broken"),
         pgettext("reports", "Share of promises kept")],
        [[k.start, k.end, k.sales, k.receivables_start, k.receivables_end, k.current_end, k.dso_simple,
          k.dso_count_back, k.payment_delay, k.cei, k.overdue_share, p["kept"], p["broken"], p["share_kept"]]],
        currency=k.currency, formats={6: "days", 7: "days", 8: "days", 9: "days", 10: "percent", 13: "percent"},
    )
    headers = [pgettext("reports", "Scenario"), pgettext("reports", "Step"), pgettext("reports", "Channel"),
               pgettext("reports", "Invoices reminded")]
    formats = {}
    for window in WINDOWS:
        formats[len(headers) + 2] = "percent"
        headers += [pgettext("reports", "Counted for %(days)s days") % {"days": window},
                    pgettext("reports", "Paid within %(days)s days") % {"days": window},
                    pgettext("reports", "Share paid within %(days)s days") % {"days": window}]
    rows = [[r.scenario, r.step, r.channel, r.invoices,
             *[v for w in WINDOWS for v in (r.due[w], r.paid[w], r.share(w))]] for r in k.reminders]
    reminders = Table(pgettext("reports", "Reminders that work"), headers, rows, currency=k.currency,
                      formats=formats)
    return figures, reminders


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM (spreadsheets then read the accents), amounts with a dot and two decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows + ([table.total] if table.total else []):
        writer.writerow([_plain(v, table.formats.get(i)) for i, v in enumerate(row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(*tables: Table) -> bytes:
    """One sheet per table; amounts are numbers with a currency format, shares with a percent format."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        _sheet(book, table)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Workbook, table: Table) -> None:
    # Sheet names: 31 characters at most, no / \\ ? * [ ] :
    sheet = book.create_sheet(re.sub(r"[/\\?*\[\]:]", "-", table.title)[:31])
    money_format = EURO_FORMAT if table.currency == "EUR" else MONEY_FORMAT
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows + ([table.total] if table.total else []):
        # Decimals go in as they are: openpyxl writes their exact digits into the file.
        sheet.append(row)
        for index, cell in enumerate(sheet[sheet.max_row]):
            if isinstance(row[index], Decimal):
                cell.number_format = NUMBER_FORMATS.get(table.formats.get(index, ""), money_format)
    if table.total:
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    for index, header in enumerate(table.headers, start=1):
        width = max([len(header)] + [len(_plain(r[index - 1])) for r in table.rows[:200]])
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(max(width + 2, 10), 50)


def _shown(table: Table, row: list) -> list[dict]:
    cells = []
    for index, value in enumerate(row):
        if isinstance(value, Decimal):
            kind = table.formats.get(index)
            text = percent(value, 1) if kind == "percent" else str(value) if kind == "days" else money(
                value, table.currency)
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
