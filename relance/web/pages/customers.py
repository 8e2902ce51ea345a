"""The customers list: search, filters, sorts, 50 per page, and bulk actions on the ticked customers
(pause, resume, scenario, collector) through the engine's actions."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from relance.accounts.permissions import WRITE
from relance.dunning import actions
from relance.dunning.models import Scenario
from relance.dunning.queries import org_today
from relance.ledger.models import Customer, RiskSegment
from relance.web.orgs import org_view
from relance.web.reads.customers import (
    NONE,
    CustomerQuery,
    Figures,
    filter_customers,
    list_collectors,
    list_scenarios,
    page_figures,
    page_rows,
    sort_customers,
)

PER_PAGE = 50
MAX_SELECTED = 500
SEGMENT_LABELS = dict(RiskSegment.choices)
STATUS_CHOICES = [
    ("paused", gettext_lazy("Paused")), ("insolvency", gettext_lazy("Insolvency proceedings")),
    ("disputed", gettext_lazy("Invoices in dispute")), ("clear", gettext_lazy("Nothing holds the reminders")),
]
SORT_CHOICES = [
    ("name", gettext_lazy("Name (A → Z)")), ("-name", gettext_lazy("Name (Z → A)")),
    ("-overdue", gettext_lazy("Overdue amount (largest first)")),
    ("overdue", gettext_lazy("Overdue amount (smallest first)")),
    ("-late", gettext_lazy("Days late (most first)")), ("late", gettext_lazy("Days late (fewest first)")),
]


def _person(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def _page_number(params, pages: int) -> int:
    try:
        return min(max(1, int(params.get("page", 1))), pages)
    except (TypeError, ValueError):
        return 1


@org_view(post_perm=WRITE)
def customers(request):
    org = request.org
    today = org_today(org)
    query = CustomerQuery.from_params(request.GET)
    filtered = filter_customers(org, query, today)
    total = filtered.count()
    pages = max(1, -(-total // PER_PAGE))
    number = _page_number(request.GET, pages)
    start = (number - 1) * PER_PAGE
    rows = page_rows(sort_customers(filtered, query.sort, today, searched=bool(query.q)), start, start + PER_PAGE)
    figures = page_figures(org, [row["pk"] for row in rows], today)
    for row in rows:
        row["figures"] = figures.get(row["pk"], Figures())
        segment = row["risk_segment_override"] or row["risk_segment"]
        row["segment_label"] = SEGMENT_LABELS.get(segment, segment)
        row["paused"] = row["paused_until"] is not None and row["paused_until"] >= today
        row["collector_name"] = (_person(row["collector__first_name"], row["collector__last_name"],
                                         row["collector__username"]) if row["collector__username"] else "")
    scenarios, collectors = list_scenarios(org), _collectors(org)
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "web/customers/list.html", {
        "rows": rows, "query": query, "total": total, "page": number, "pages": pages,
        "first_shown": start + 1 if rows else 0, "last_shown": start + len(rows),
        "params": params.urlencode(), "query_string": request.GET.urlencode(),
        "scenarios": scenarios, "collectors": collectors, "segments": RiskSegment.choices,
        "statuses": STATUS_CHOICES, "sorts": SORT_CHOICES, "none": NONE, "today": today,
        "bulk_form": BulkForm(scenarios=scenarios, collectors=collectors) if request.can["write"] else None,
    })


class BulkForm(forms.Form):
    """The bulk bar. Its choices are the organisation's scenarios and collectors only: any other id is
    refused as an invalid choice (and the action checks again)."""

    ACTIONS = [
        ("pause", gettext_lazy("Pause reminders until…")), ("resume", gettext_lazy("Resume reminders")),
        ("scenario", gettext_lazy("Assign a scenario")), ("collector", gettext_lazy("Assign a collector")),
    ]
    action = forms.ChoiceField(label=gettext_lazy("Action"), choices=ACTIONS)
    until = forms.DateField(label=gettext_lazy("Pause until"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=gettext_lazy("Reason for the pause"), max_length=300, required=False)
    scenario = forms.TypedChoiceField(label=gettext_lazy("Scenario"), required=False, coerce=int, empty_value=None)
    collector = forms.TypedChoiceField(label=gettext_lazy("Collector"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, scenarios, collectors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].choices = [("", _("— chosen by the rules —")), *scenarios]
        self.fields["collector"].choices = [("", _("— nobody —")), *collectors]

    def clean(self):
        data = super().clean()
        if data.get("action") == "pause":
            if not data.get("until"):
                self.add_error("until", _("Give the date the pause ends."))
            if not (data.get("reason") or "").strip():
                self.add_error("reason", _("Give the reason for the pause."))
        return data


def _collectors(org) -> list[tuple[int, str]]:
    return [(c["user_id"], _person(c["user__first_name"], c["user__last_name"], c["user__username"]))
            for c in list_collectors(org)]


def _selected_ids(request) -> list[int]:
    ids = [value for value in request.POST.getlist("ids") if value.isdigit()]
    return [int(value) for value in ids[:MAX_SELECTED]]


def _back(request):
    """Back to the list as it was (the query string only: never another site)."""
    query = QueryDict(request.POST.get("back", ""), mutable=True)
    url = reverse("customers", args=[request.org.slug])
    return redirect(f"{url}?{query.urlencode()}" if query else url)


@org_view(WRITE)
@require_POST
def customers_bulk(request):
    org = request.org
    form = BulkForm(request.POST, scenarios=list_scenarios(org), collectors=_collectors(org))
    ids = _selected_ids(request)
    if not ids:
        messages.error(request, _("Tick at least one customer."))
        return _back(request)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[name].label if name in form.fields else ''} : {' '.join(errs)}"
                           for name, errs in form.errors.items())
        messages.error(request, _("Nothing changed: %(errors)s") % {"errors": errors})
        return _back(request)
    data, user = form.cleaned_data, request.user
    chosen = list(Customer.objects.filter(organisation=org, pk__in=ids).order_by("pk"))
    try:
        with transaction.atomic():
            if data["action"] == "pause":
                for customer in chosen:
                    actions.pause_customer(customer, data["until"], data["reason"], user=user)
                count = len(chosen)
            elif data["action"] == "resume":
                for customer in chosen:
                    actions.resume_customer(customer, user=user)
                count = len(chosen)
            elif data["action"] == "scenario":
                scenario = Scenario.objects.get(organisation=org, pk=data["scenario"]) if data["scenario"] else None
                count = actions.assign_customers(org, [c.pk for c in chosen], scenario=scenario, user=user)
            else:
                collector = get_user_model().objects.get(pk=data["collector"]) if data["collector"] else None
                count = actions.assign_customers(org, [c.pk for c in chosen], collector=collector, user=user)
    except actions.DunningError as exc:
        messages.error(request, _("Nothing changed: %(error)s") % {"error": exc})
        return _back(request)
    messages.success(request, _("%(count)d customer(s) updated.") % {"count": count})
    return _back(request)


urlpatterns = [
    path("clients/", customers, name="customers"),
    path("clients/actions/", customers_bulk, name="customers_bulk"),
]
