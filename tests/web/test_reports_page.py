"""The reports page /o/<slug>/rapports/: the aged balance on a chosen date, the KPIs of a period, the
charts' data, and every download read back. The ledger is the aged-balance tests' (see there)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from relance.dunning.models import Reminder, ReminderLine, ReminderState
from relance.ledger.models import Invoice
from tests.ledger.test_aged_balance import ledger  # noqa: F401 - the hand-checked ledger

NB, NNB = "\u00a0", "\u202f"
PAGE = "/o/abc/rapports/"
PERIOD = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def reminded(org, customer, ledger):  # noqa: F811
    """F1 reminded by e-mail on 13 Nov (step s1): paid in full on 2 Dec, 19 days later."""
    f1 = Invoice.objects.get(number="F00001")
    reminder = Reminder.objects.create(
        organisation=org, customer=customer, channel="email", run_date=date(2026, 11, 13), state=ReminderState.SENT,
        scenario_code="std", step_code="s1", template="t",
        sent_at=datetime(2026, 11, 13, 9, tzinfo=ZoneInfo("Europe/Paris")))
    ReminderLine.objects.create(reminder=reminder, invoice=f1, step_code="s1", balance=Decimal("600.00"))


def test_the_page_shows_the_aged_balance_on_the_date_asked(client, victor, reminded,
                                                           django_assert_max_num_queries):
    client.force_login(victor)  # a viewer reads the reports
    # A fixed number of queries whatever the ledger's size (the first read also builds the running totals).
    with django_assert_max_num_queries(60):
        response = client.get(f"{PAGE}?as_of=2026-11-30&{PERIOD}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Rapports" in html and "Balance âgée au 30 novembre 2026" in html
    assert re.search(r'id="aged-total">1' + NNB + "100,00" + NB + "€<", html)
    assert "600,00" + NB + "€" in html and "Dupont SARL" in html and "Martin SA" in html
    assert "Autre" not in html and "777,00" not in html
    assert 'href="/o/abc/rapports/balance-agee.xlsx?as_of=2026-11-30"' in html
    assert 'href="/o/abc/rapports/kpi.csv?from=2026-11-01&amp;to=2026-11-30"' in html
    assert 'aria-current="page">Rapports</a>' in html


def test_another_date_gives_other_figures(client, alice, ledger):  # noqa: F811
    client.force_login(alice)
    html = client.get(f"{PAGE}?as_of=2026-10-31").content.decode()
    assert re.search(r'id="aged-total">1' + NNB + "300,00" + NB + "€<", html)


def test_the_kpis_and_the_chart_data_go_through_json_blocks_only(client, alice, reminded):
    client.force_login(alice)
    response = client.get(f"{PAGE}?{PERIOD}")
    html = response.content.decode()
    # No inline script or style (the Content-Security-Policy refuses them): scripts come from files,
    # data from json_script blocks.
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="' in tag or 'type="application/json"' in tag, tag
    assert "style=" not in html and "<style" not in html
    aged = json.loads(re.search(r'id="aged-chart-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert aged["values"][0] == response.context["aged"].buckets["not_due"].to_eng_string()
    chart = json.loads(re.search(r'id="reminders-chart-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert chart["labels"] == ["std · s1 · e-mail"]
    assert [s["values"] for s in chart["series"]] == [["0"], ["0"]]  # paid after 19 days: neither
    assert "web/js/reports.js" in html and "web/vendor/chart.umd.min.js" in html


def test_a_bad_date_is_named_and_the_default_used(client, alice, ledger):  # noqa: F811
    client.force_login(alice)
    html = client.get(f"{PAGE}?as_of=2026-13-01").content.decode()
    assert 'id="report-errors"' in html and "as_of" in html


def test_another_organisation_sees_nothing(client, charlie, ledger):  # noqa: F811
    client.force_login(charlie)
    assert client.get(PAGE).status_code == 404
    assert client.get(f"{PAGE}balance-agee.csv").status_code == 404


def download(client, name: str, params: str):
    response = client.get(f"{PAGE}{name}?{params}")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return response


def test_every_aged_balance_download_reads_back(client, alice, ledger):  # noqa: F811
    client.force_login(alice)
    data = json.loads(download(client, "balance-agee.json", "as_of=2026-11-30").content)
    assert list(data) == ["as_of", "total", "buckets", "customers"] and data["total"] == "1100.00"
    text = download(client, "balance-agee.csv", "as_of=2026-11-30").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[-1][1:3] == ["Total", "1100.00"]
    response = download(client, "balance-agee.xlsx", "as_of=2026-11-30")
    assert response["Content-Disposition"] == 'attachment; filename="balance-agee-abc-2026-11-30.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[2]][:3] == ["C001", "Dupont SARL", 900]
    pdf = download(client, "balance-agee.pdf", "as_of=2026-11-30").content
    assert pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Balance âgée au 2026-11-30" in text and "Martin SA" in text


def test_every_kpi_download_reads_back(client, alice, reminded):
    client.force_login(alice)
    text = download(client, "kpi.csv", PERIOD).content.decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(text)))
    figures = dict(zip(header, row, strict=True))
    assert figures["Du"] == "2026-11-01" and figures["Ventes"] == "500.00"  # F2, issued 20 Nov
    assert figures["Créances en fin de période"] == "1100.00"
    text = download(client, "kpi-relances.csv", PERIOD).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][:4] == ["std", "s1", "email", "1"]
    book = load_workbook(io.BytesIO(download(client, "kpi.xlsx", PERIOD).content))
    assert len(book.sheetnames) == 2
    first, second = book.worksheets
    assert first["C2"].value == 500 and "€" in first["C2"].number_format
    assert second["A2"].value == "std" and second["G2"].number_format == "0.0%"
