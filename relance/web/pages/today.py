"""Today: the collector's morning list. What the next send delivers (with the real text, on demand),
the approval queue (PDF, approve, skip, edit), the calls to make (ranked by amount at risk, with
one-click outcomes) and the contacts to fix."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from relance.accounts.permissions import WRITE
from relance.channels.base import DeliveryError
from relance.channels.phone.outcomes import CallOutcomeError, record_call_outcome
from relance.dunning import actions
from relance.dunning.models import ReminderState
from relance.dunning.queries import org_today
from relance.dunning.run import DunningError
from relance.web.orgs import org_view
from relance.web.reads import today as reads
from relance.web.reads.escalations import list_escalations

SECTIONS = ("outbox", "approvals", "calls", "fixes", "escalations")
# What a preview may show: what the sender will take, and what waits for approval.
PREVIEWABLE = (ReminderState.PLANNED, ReminderState.FAILED, ReminderState.SENDING, ReminderState.AWAITING_APPROVAL)


def _section(request, name: str, today):
    page = request.GET.get(name) or 1
    if name == "outbox":
        return reads.list_outbox(request.org, today, timezone.now(), page)
    if name == "approvals":
        return reads.list_approvals(request.org, page)
    if name == "calls":
        return reads.list_calls(request.org, today, page)
    if name == "escalations":  # the escalation steps' documents (relance.web.pages.escalations)
        return list_escalations(request.org, page)
    return reads.list_fix_contacts(request.org, page)


@org_view()
def today(request):
    day = org_today(request.org)
    only = request.GET.get("only")
    if only in SECTIONS:  # htmx: one section's next page
        context = {"page": _section(request, only, day), "today": day, "section": only}
        return render(request, f"web/today/_{only}.html", context)
    context = {name: _section(request, name, day) for name in SECTIONS}
    return render(request, "web/today/today.html", {**context, "today": day})


def _back(request, anchor: str):
    return redirect(reverse("today", args=[request.org.slug]) + f"#{anchor}")


@org_view()
def preview(request, pk: int):
    reminder = reads.get_reminder(request.org, pk, PREVIEWABLE)
    if reminder is None:
        raise Http404
    shown = reads.render_preview(reminder, org_today(request.org))
    template = "web/today/_preview.html" if request.headers.get("HX-Request") else "web/today/preview.html"
    return render(request, template, {"reminder": reminder, "preview": shown})


@org_view()
def letter_pdf(request, pk: int):
    reminder = reads.get_reminder(request.org, pk, PREVIEWABLE)
    if reminder is None or reminder.channel != "letter":
        raise Http404
    try:
        pdf = reads.letter_pdf(reminder, org_today(request.org))
    except DeliveryError as exc:
        return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="relance-{reminder.pk}.pdf"'
    return response


def _reminder(request, pk: int):
    reminder = reads.get_reminder(request.org, pk)
    if reminder is None:
        raise Http404
    return reminder


@org_view(post_perm=WRITE)
@require_POST
def approve(request, pk: int):
    reminder = _reminder(request, pk)
    try:
        actions.approve_reminder(reminder, user=request.user)
        messages.success(request, pgettext("today", "Approved: it goes with the next send."))
    except DunningError as exc:
        messages.error(request, str(exc))
    return _back(request, "approvals")


@org_view(post_perm=WRITE)
@require_POST
def skip(request, pk: int):
    reminder = _reminder(request, pk)
    try:
        actions.skip_reminder(reminder, user=request.user)
        messages.success(request, pgettext("today", "Skipped: it will not be sent."))
    except DunningError as exc:
        messages.error(request, str(exc))
    return _back(request, "approvals")


@org_view(post_perm=WRITE)
def edit(request, pk: int):
    if not request.can[WRITE]:  # the form is for those who may save it
        raise PermissionDenied
    reminder = _reminder(request, pk)
    if reminder.state != ReminderState.AWAITING_APPROVAL or reminder.channel not in actions.EDITABLE_CHANNELS:
        raise Http404
    error = ""
    if request.method == "POST":
        subject, body = request.POST.get("subject", ""), request.POST.get("body_text", "")
        try:
            actions.edit_reminder(reminder, subject, body, user=request.user)
        except DunningError as exc:
            error = str(exc)
        else:
            messages.success(request, pgettext("today", "Text changed: the send will use it once approved."))
            return _back(request, "approvals")
    elif reminder.edited_at:
        subject, body = reminder.subject, reminder.body_text
    else:
        shown = reads.render_preview(reminder, org_today(request.org))
        subject = shown.message.subject if shown.message else ""
        body = shown.message.body_text if shown.message else ""
        error = shown.error
    context = {"reminder": reminder, "subject": subject, "body_text": body, "error": error}
    return render(request, "web/today/edit.html", context, status=400 if error and request.method == "POST" else 200)


# The forms' outcomes → relance.channels.phone.outcomes (the same entry as every other caller).
VOICEMAIL = "voicemail"


@org_view(post_perm=WRITE)
@require_POST
def call_outcome(request, pk: int):
    task = reads.get_call_task(request.org, pk)
    if task is None:
        raise Http404
    outcome = request.POST.get("outcome", "")
    data = {name: request.POST.get(name, "").strip()
            for name in ("date", "amount", "reason", "note", "reference", "contact_id") if request.POST.get(name)}
    if outcome == VOICEMAIL:  # no one answered: a message was left, the call is tried again
        note = [pgettext("today", "voicemail"), data.get("note", "")]
        outcome, data["note"] = "no_answer", " – ".join(filter(None, note))
    try:
        result = record_call_outcome(task, outcome, data, user=request.user)
    except CallOutcomeError as exc:
        error = pgettext("today", "%(customer)s: %(error)s") % {"customer": task.customer.name, "error": exc}
        messages.error(request, error)
        return _back(request, f"call-{task.pk}")
    done = pgettext("today", "Call with %(customer)s recorded.") % {"customer": task.customer.name}
    if result.recap is not None:
        done += " " + (
            pgettext("today", "The recap e-mail waits for approval.") if result.recap.reminder
            else pgettext("today", "No recap e-mail planned (one already goes today, or no e-mail address).")
        )
    messages.success(request, done)
    return _back(request, "calls")


@org_view(post_perm=WRITE)
@require_POST
def task_done(request, pk: int):
    task = reads.get_fix_contact_task(request.org, pk)
    if task is None:
        raise Http404
    try:
        actions.close_task(task, user=request.user, note=request.POST.get("note", ""))
        messages.success(request, pgettext("today", "Task done."))
    except DunningError as exc:
        messages.error(request, str(exc))
    return _back(request, "fixes")


urlpatterns = [
    path("aujourdhui/", today, name="today"),
    path("aujourdhui/relances/<int:pk>/apercu/", preview, name="today_preview"),
    path("aujourdhui/relances/<int:pk>/lettre.pdf", letter_pdf, name="today_letter_pdf"),
    path("aujourdhui/relances/<int:pk>/approuver/", approve, name="today_approve"),
    path("aujourdhui/relances/<int:pk>/ecarter/", skip, name="today_skip"),
    path("aujourdhui/relances/<int:pk>/modifier/", edit, name="today_edit"),
    path("aujourdhui/appels/<int:pk>/resultat/", call_outcome, name="today_call_outcome"),
    path("aujourdhui/taches/<int:pk>/faite/", task_done, name="today_task_done"),
]
