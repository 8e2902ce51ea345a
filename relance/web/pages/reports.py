"""Reports: the aged balance on any date (per bucket, the largest customers, a chart) and the KPIs of
a period (DSO, payment delay, CEI, promises kept, the reminders after which invoices get paid), each
downloadable (aged balance: JSON, CSV, XLSX, PDF; KPIs: CSV, XLSX). Every member may read them."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import pgettext
from django.views.decorators.http import require_safe

from relance.dunning.models import Channel
from relance.dunning.queries import org_today
from relance.reports.aged import BUCKETS, get_aged_balance
from relance.reports.exports import CONTENT_TYPES, FORMATS, aged_file, bucket_label, kpi_tables, table_file, to_xlsx
from relance.reports.kpi import WINDOWS
from relance.web.orgs import org_view
from relance.web.reads import reports as reads

CHANNEL_LABELS = dict(Channel.choices)


def _query(request):
    return reads.ReportQuery.from_params(request.GET, org_today(request.org))


def _download(content: bytes, fmt: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@org_view()
@require_safe
def reports(request):
    org = request.org
    today = org_today(org)
    query = _query(request)
    aged = reads.get_aged(org, query.as_of)
    kpis = reads.get_period_kpis(org, query, today, aged)
    totals = aged.buckets
    buckets = [{"key": key, "label": bucket_label(low, high), "amount": totals[key],
                "share": (totals[key] / aged.total) if aged.total else None} for key, low, high in BUCKETS]
    reminders = [{"r": r, "channel_label": CHANNEL_LABELS.get(r.channel, r.channel),
                  "shares": [r.share(w) for w in WINDOWS]} for r in kpis.reminders]
    largest = aged.largest
    return render(request, "web/reports/reports.html", {
        "today": today,
        "query": query,
        "currency": org.currency,
        "aged": aged,
        "buckets": buckets,
        "largest": largest,
        "more_customers": aged.customers_owing - len(largest),
        "kpis": kpis,
        "reminders": reminders,
        "windows": WINDOWS,
        "aged_downloads": [(fmt.upper(), reverse(f"reports_aged_{fmt}", args=[org.slug])) for fmt in FORMATS],
        # For the charts (web/js/dashboard.js and reports.js): exact decimal strings, labels in the page's language.
        "aged_chart": {"labels": [b["label"] for b in buckets], "values": [str(b["amount"]) for b in buckets],
                       "currency": org.currency, "title": pgettext("reports", "Open balance")},
        "reminders_chart": {
            "labels": [f"{r.scenario} · {r.step} · {CHANNEL_LABELS.get(r.channel, r.channel)}" for r in kpis.reminders],
            "series": [{"label": pgettext("reports", "Paid within %(days)s days") % {"days": w},
                        "values": [None if r.share(w) is None else str(r.share(w)) for r in kpis.reminders]}
                       for w in WINDOWS],
        },
    })


@org_view()
@require_safe
def aged_export(request, fmt: str):
    org = request.org
    as_of = _query(request).as_of
    content = aged_file(get_aged_balance(org, as_of), fmt, org.legal_name)
    return _download(content, fmt, f"balance-agee-{org.slug}-{as_of.isoformat()}")


@org_view()
@require_safe
def kpi_export(request, part: str, fmt: str):
    """kpi.csv (the figures), kpi-relances.csv (the reminders), kpi.xlsx (both, a sheet each)."""
    org = request.org
    query = _query(request)
    figures, reminders = kpi_tables(reads.get_period_kpis(org, query, org_today(org)))
    if fmt == "xlsx":
        content = to_xlsx(figures, reminders)
    else:
        content = table_file(figures if part == "kpi" else reminders, fmt)
    return _download(content, fmt, f"{part}-{org.slug}-{query.start.isoformat()}-{query.end.isoformat()}")


KPI_FILES = [("kpi", "csv"), ("kpi-relances", "csv"), ("kpi", "xlsx")]

urlpatterns = [
    path("rapports/", reports, name="reports"),
    *[path(f"rapports/balance-agee.{fmt}", aged_export, {"fmt": fmt}, name=f"reports_aged_{fmt}") for fmt in FORMATS],
    *[path(f"rapports/{part}.{fmt}", kpi_export, {"part": part, "fmt": fmt},
           name=f"reports_{part.replace('-', '_')}_{fmt}") for part, fmt in KPI_FILES],
]
