"""scenarios pages (placeholder until built: every URL name the navigation needs exists)."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path

from relance.web.orgs import org_view


@org_view()
def scenarios(request):
    return render(request, "web/placeholder.html", {"title": "scenarios"})


urlpatterns = [
    path("scenarios/", scenarios, name="scenarios"),
]
