"""The invoice page (/o/<slug>/factures/<pk>/): its figures, status, schedule, its own history and
its document, downloaded through the organisation's wall (never a public media URL)."""

from __future__ import annotations

import os

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import path, reverse

from relance.dunning import queries
from relance.dunning.interest import get_invoice_claim
from relance.dunning.models import Dispute, Promise
from relance.ledger.models import Invoice
from relance.web.orgs import org_view
from relance.web.pages import customer_forms as f
from relance.web.pages.customer_page import render_timeline
from relance.web.reads import customer as reads
from relance.web.reads.timeline import Timeline


def _invoice(request, pk: int) -> Invoice:
    try:
        return Invoice.objects.select_related("customer", "customer__scenario").get(organisation=request.org, pk=pk)
    except Invoice.DoesNotExist:
        raise Http404


@org_view()
def invoice(request, pk):
    org = request.org
    inv = _invoice(request, pk)
    today = queries.org_today(org)
    figures = reads.get_figures(inv.customer, today)
    row = reads.get_invoice_row(reads.Statuses(org, inv.customer, today, figures.total_due), inv)
    context = {
        "invoice": inv, "customer": inv.customer, "row": row, "today": today,
        "timeline_url": reverse("invoice_timeline", args=[org.slug, inv.pk]),
        "open_promise": Promise.objects.filter(invoice=inv, state="open").first(),
        "open_dispute": Dispute.objects.filter(invoice=inv, is_open=True).first(),
        "document_name": os.path.basename(inv.document.name) if inv.document else "",
        "claim": get_invoice_claim(inv, today),
    }
    if request.can["write"]:
        choice = [{"pk": inv.pk, "number": inv.number}]
        note = f.NoteForm(prefix="note", initial={"invoice": str(inv.pk)})
        note.set_invoices("invoice", choice)
        dispute = f.DisputeForm(prefix="dispute", initial={"invoice": str(inv.pk)})
        dispute.set_invoices("invoice", choice)
        close = f.CloseDisputeForm(prefix="close", initial={"invoice": str(inv.pk)})
        close.set_invoices("invoice", choice)
        promise = f.PromiseForm(prefix="promise", initial={"invoices": [str(inv.pk)]})
        promise.set_invoices("invoices", choice)
        context["forms"] = {"note": note, "dispute": dispute, "close_dispute": close, "promise": promise}
    return render(request, "web/invoice/page.html", context)


@org_view()
def invoice_timeline(request, pk):
    """The invoice's own history (its lines of reminders, allocations, promises, disputes, notes, portal
    requests): a fragment for htmx, a page of its own otherwise."""
    inv = _invoice(request, pk)
    url = reverse("invoice_timeline", args=[request.org.slug, inv.pk])
    return render_timeline(request, Timeline(request.org, inv.customer, inv), url)


@org_view()
def invoice_document(request, pk):
    """The invoice's stored document (its PDF), as an attachment."""
    inv = _invoice(request, pk)
    if not inv.document:
        raise Http404
    try:
        handle = inv.document.open("rb")
    except FileNotFoundError:
        raise Http404
    return FileResponse(handle, as_attachment=True, filename=os.path.basename(inv.document.name))


urlpatterns = [
    path("factures/<int:pk>/", invoice, name="invoice"),
    path("factures/<int:pk>/historique/", invoice_timeline, name="invoice_timeline"),
    path("factures/<int:pk>/document/", invoice_document, name="invoice_document"),
]
