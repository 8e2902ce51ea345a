"""reminders pages (placeholder until built: every URL name the navigation needs exists)."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path

from relance.web.orgs import org_view


@org_view()
def reminders(request):
    return render(request, "web/placeholder.html", {"title": "reminders"})


@org_view()
def reminder(request, pk):
    return render(request, "web/placeholder.html", {"title": "reminder"})


urlpatterns = [
    path("relances/", reminders, name="reminders"),
    path("relances/<int:pk>/", reminder, name="reminder"),
]
