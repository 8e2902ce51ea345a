"""The team's web app (HTTP only; reads come from queries modules).

Every query starts from the user's memberships: a member of organisation A gets a 404 for anything of B,
exactly as for something that does not exist (no hint that it does).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.ledger.models import Customer
from relance.ledger.queries import get_aged_balance, list_open_invoices


def member_organisations(user):
    """The organisations this user belongs to (whatever the role): the root of every query here."""
    return Organisation.objects.filter(memberships__user=user).order_by("legal_name")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    rows = [(org, get_aged_balance(org, today)) for org in member_organisations(request.user)]
    return render(request, "web/dashboard.html", {"rows": rows, "today": today})


@login_required
def organisation(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_object_or_404(member_organisations(request.user), slug=slug)
    invoices = list_open_invoices(org).select_related("customer").order_by("due_date", "number")[:200]
    return render(request, "web/organisation.html", {"org": org, "invoices": invoices})


@login_required
def customer(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    org = get_object_or_404(member_organisations(request.user), slug=slug)
    found = get_object_or_404(Customer, organisation=org, pk=pk)
    invoices = found.invoices.order_by("-due_date", "number")[:200]
    reminders = found.reminders.order_by("-run_date", "-pk")[:50]
    return render(request, "web/customer.html", {"org": org, "customer": found, "invoices": invoices,
                                                 "reminders": reminders})
