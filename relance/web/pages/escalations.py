"""The escalation tasks' buttons (Today inbox): done, and for a write-off proposal the owner's one click
that writes the invoices off (relance.dunning.actions.write_off_invoices)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from relance.accounts.permissions import SETTINGS, WRITE
from relance.dunning import actions
from relance.web.orgs import org_view
from relance.web.reads.escalations import get_escalation_task


def _back(request):
    return redirect(reverse("today", args=[request.org.slug]) + "#escalations")


@org_view(post_perm=SETTINGS)
@require_POST
def task_write_off(request, pk: int):
    task = get_escalation_task(request.org, pk)
    if task is None:
        raise Http404
    try:
        written = actions.write_off_invoices(task, request.user)
        messages.success(request, pgettext("escalation", "Invoices written off: {numbers}").format(
            numbers=", ".join(i.number for i in written)))
    except (actions.DunningError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    return _back(request)


@org_view(post_perm=WRITE)
@require_POST
def task_escalation_done(request, pk: int):
    task = get_escalation_task(request.org, pk)
    if task is None:
        raise Http404
    try:
        actions.close_task(task, user=request.user, note=request.POST.get("note", ""))
        messages.success(request, pgettext("today", "Task done."))
    except actions.DunningError as exc:
        messages.error(request, str(exc))
    return _back(request)


urlpatterns = [
    path("aujourdhui/escalades/<int:pk>/passer-en-perte/", task_write_off, name="task_write_off"),
    path("aujourdhui/escalades/<int:pk>/faite/", task_escalation_done, name="task_escalation_done"),
]
