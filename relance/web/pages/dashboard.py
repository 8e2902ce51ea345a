"""The dashboard: where the cash is stuck (receivables, overdue, aged balance, DSO, who owes most) and
what to do today (the run's messages, promises due or broken, open disputes)."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path
from django.utils.translation import pgettext
from django.views.decorators.http import require_safe

from relance.dunning.queries import org_today
from relance.web.orgs import org_view
from relance.web.reads import dashboard as reads
from relance.web.templatetags.relance_format import day


def bucket_label(low: int | None, high: int | None) -> str:
    """A bucket of days past due, for people: "Not due", "1–30 days", "More than 120 days"."""
    if low is None:
        return pgettext("dashboard", "Not due")
    if high is None:
        return pgettext("dashboard", "More than %(days)s days") % {"days": low - 1}
    return pgettext("dashboard", "%(low)s–%(high)s days") % {"low": low, "high": high}


def _whole(value):
    return None if value is None else int(value)


@org_view()
@require_safe
def dashboard(request):
    org = request.org
    today = org_today(org)
    aged = reads.get_dashboard_aged_balance(org, today)
    counters = reads.get_counters(org, today)
    sales = counters["sales"]
    collected = reads.list_collected_by_month(org, today)
    buckets = [{"bucket": b, "label": bucket_label(b.low, b.high)} for b in aged.buckets]
    context = {
        "today": today,
        "currency": org.currency,
        "aged": aged,
        "buckets": buckets,
        "sales": sales,
        "dso": _whole(reads.dso(aged.total, sales)),
        "dso_days": reads.DSO_DAYS,
        "collected_this_month": collected[-1][1],
        "collected": [{"month": m, "label": day(m, "MMMM y"), "amount": a} for m, a in collected],
        "channels": reads.list_todays_reminders(org, today),
        "promises": counters["promises"],
        "disputes": counters["disputes"],
        "top_customers": reads.list_top_overdue_customers(org, today),
        # For the charts (dashboard.js): amounts as exact decimal strings, labels in the page's language.
        "aged_chart": {
            "labels": [b["label"] for b in buckets],
            "values": [str(b.amount) for b in aged.buckets],
            "currency": org.currency,
            "title": pgettext("dashboard", "Open balance"),
        },
        "collected_chart": {
            "labels": [day(m, "MMM y") for m, _ in collected],
            "values": [str(a) for _, a in collected],
            "currency": org.currency,
            "title": pgettext("dashboard", "Collected"),
        },
    }
    return render(request, "web/dashboard/dashboard.html", context)


@org_view()
@require_safe
def dashboard_promises(request):
    """The promises to follow today (due today, recently broken): loaded by the dashboard with htmx,
    a page of its own when opened directly."""
    org = request.org
    today = org_today(org)
    layout = "web/dashboard/fragment.html" if request.headers.get("HX-Request") else "web/base.html"
    return render(request, "web/dashboard/promises.html", {
        "layout": layout,
        "today": today,
        "promise_list": reads.list_promises_to_follow(org, today),
        "broken_days": reads.BROKEN_PROMISES_DAYS,
    })


urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("tableau/promesses/", dashboard_promises, name="dashboard_promises"),
]
