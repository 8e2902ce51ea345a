"""The reminders log (filters, pages of 50) and one reminder as it was sent: its message (the HTML in a
sandboxed frame, no script runs), attachments, evidence, lines and history; a person settles an
`unknown` reminder here (relance.channels.delivery.resolve_unknown)."""

from __future__ import annotations

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from relance.accounts.permissions import WRITE
from relance.channels.delivery import resolve_unknown
from relance.dunning.models import Channel, Reminder, ReminderState
from relance.web.orgs import org_view
from relance.web.reads.reminders import (
    ReminderQuery,
    find_attachments,
    get_reminder,
    list_lines,
    list_reminders,
    list_step_codes,
    with_customers,
)

PER_PAGE = 50
STATE_LABELS = dict(ReminderState.choices)
CHANNEL_LABELS = dict(Channel.choices)
STATE_BADGES = {
    ReminderState.SENT: "ok", ReminderState.FAILED: "bad", ReminderState.UNKNOWN: "warn",
    ReminderState.AWAITING_APPROVAL: "warn",
}


def _page_number(params) -> int:
    try:
        return max(1, int(params.get("page", 1)))
    except (TypeError, ValueError):
        return 1


@org_view()
def reminders(request):
    org = request.org
    query = ReminderQuery.from_params(request.GET)
    number = _page_number(request.GET)
    start = (number - 1) * PER_PAGE
    # One more than a page tells whether a next page exists, without counting millions of rows.
    rows = list(list_reminders(org, query)[start:start + PER_PAGE + 1])
    has_next = len(rows) > PER_PAGE
    rows = with_customers(rows[:PER_PAGE])
    for row in rows:
        row["state_label"] = STATE_LABELS.get(row["state"], row["state"])
        row["state_badge"] = STATE_BADGES.get(row["state"], "")
        row["channel_label"] = CHANNEL_LABELS.get(row["channel"], row["channel"])
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "web/reminders/list.html", {
        "rows": rows, "query": query, "page": number, "has_next": has_next, "params": params.urlencode(),
        "states": ReminderState.choices, "channels": Channel.choices, "steps": list_step_codes(org),
    })


def _reminder_or_404(request, pk: int) -> Reminder:
    try:
        return get_reminder(request.org, pk)
    except Reminder.DoesNotExist:
        raise Http404


@org_view()
def reminder(request, pk):
    item = _reminder_or_404(request, pk)
    lines = list_lines(item)
    attachments = find_attachments(item, lines)
    return render(request, "web/reminders/detail.html", {
        "reminder": item, "lines": lines, "attachments": attachments,
        "state_label": STATE_LABELS.get(item.state, item.state), "state_badge": STATE_BADGES.get(item.state, ""),
        "channel_label": CHANNEL_LABELS.get(item.channel, item.channel),
        "fallback_label": CHANNEL_LABELS.get(item.fallback_from, item.fallback_from),
        "is_unknown": item.state == ReminderState.UNKNOWN,
    })


# The HTML body as sent, alone in a sandboxed frame of the reminder's page: its own inline styles and
# data: images (the page itself allows no inline style), no script, nothing fetched.
@xframe_options_sameorigin
@csp({"default-src": [NONE], "style-src": [UNSAFE_INLINE], "img-src": ["data:"], "frame-ancestors": [SELF],
      "sandbox": [True]})
@org_view()
@require_GET
def reminder_html(request, pk):
    item = _reminder_or_404(request, pk)
    if not item.body_html:
        raise Http404
    return HttpResponse(item.body_html, content_type="text/html; charset=utf-8")


@org_view()
def reminder_attachment(request, pk, index):
    """An attachment exactly as sent (its SHA-256 checked), always as a download, never shown inline."""
    item = _reminder_or_404(request, pk)
    records = find_attachments(item, list_lines(item))
    if index >= len(records) or records[index]["content"] is None:
        raise Http404(_("No copy identical to the one sent is left of this attachment."))
    record = records[index]
    response = HttpResponse(record["content"], content_type=record.get("mimetype") or "application/octet-stream")
    name = str(record.get("name") or f"piece-{index + 1}").replace('"', "").replace("\r", "").replace("\n", "")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@org_view(WRITE)
@require_POST
def reminder_resolve(request, pk):
    """A person says whether an `unknown` reminder reached the customer ("sent") or not ("not sent":
    back in the sending queue)."""
    item = _reminder_or_404(request, pk)
    verdict = request.POST.get("was_sent")
    if verdict not in ("1", "0"):
        messages.error(request, _("Say whether the reminder was sent or not."))
    elif item.state != ReminderState.UNKNOWN:
        messages.error(request, _("This reminder is no longer in the unknown state: nothing changed."))
    else:
        resolve_unknown(item, verdict == "1", user=request.user)
        messages.success(request, _("Marked as sent.") if verdict == "1" else _("Back in the sending queue."))
    return redirect("reminder", request.org.slug, item.pk)


urlpatterns = [
    path("relances/", reminders, name="reminders"),
    path("relances/<int:pk>/", reminder, name="reminder"),
    path("relances/<int:pk>/html/", reminder_html, name="reminder_html"),
    path("relances/<int:pk>/pieces/<int:index>/", reminder_attachment, name="reminder_attachment"),
    path("relances/<int:pk>/resoudre/", reminder_resolve, name="reminder_resolve"),
]
