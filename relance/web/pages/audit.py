"""The audit log (Journal d'audit): every recorded event, newest first, filtered by kind, object
type and object (an invoice number, a customer code), 50 a page; owners only. Its integrity is
checked by `relance verify-log`."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path

from relance.accounts.permissions import MEMBERS
from relance.web.orgs import org_view
from relance.web.reads.audit import OBJECT_TYPES, AuditQuery, list_audit_page, list_kinds, summary

PER_PAGE = 50


def _page_number(params) -> int:
    try:
        return max(1, int(params.get("page", 1)))
    except (TypeError, ValueError):
        return 1


@org_view(MEMBERS)  # owners: the log names who did what, members included
def audit_log(request):
    org = request.org
    query = AuditQuery.from_params(request.GET)
    number = _page_number(request.GET)
    entries = list_audit_page(org, query, (number - 1) * PER_PAGE, PER_PAGE)
    has_next = len(entries) > PER_PAGE
    rows = [{"entry": e, "summary": summary(e.data)} for e in entries[:PER_PAGE]]
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "web/audit/list.html", {
        "rows": rows, "query": query, "page": number, "has_next": has_next, "params": params.urlencode(),
        "kinds": list_kinds(org), "object_types": OBJECT_TYPES,
    })


urlpatterns = [
    path("journal/", audit_log, name="audit_log"),
]
