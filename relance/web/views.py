"""The entry point of the web app: the user's current organisation (the last one opened), else the first."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from relance.web.orgs import SESSION_KEY, member_organisations


@login_required
def home(request: HttpRequest) -> HttpResponse:
    organisations = list(member_organisations(request.user))
    if not organisations:
        return render(request, "web/no_organisation.html", status=200)
    last = request.session.get(SESSION_KEY)
    chosen = next((o for o in organisations if o.slug == last), organisations[0])
    return redirect("dashboard", slug=chosen.slug)
