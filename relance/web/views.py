"""The team's web app (HTTP only; reads come from queries modules)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.ledger.queries import get_aged_balance


def _organisations(request: HttpRequest):
    return Organisation.objects.filter(memberships__user=request.user).order_by("legal_name")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    rows = [(org, get_aged_balance(org, today)) for org in _organisations(request)]
    return render(request, "web/dashboard.html", {"rows": rows, "today": today})
