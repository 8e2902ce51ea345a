"""customers pages (placeholder until built: every URL name the navigation needs exists)."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path

from relance.web.orgs import org_view


@org_view()
def customers(request):
    return render(request, "web/placeholder.html", {"title": "customers"})


urlpatterns = [
    path("clients/", customers, name="customers"),
]
