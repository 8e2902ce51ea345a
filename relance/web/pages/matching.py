"""Payment matching: the review queue (reasons, confidence; confirm, reject, assign by hand), the
unapplied cash per customer, and a button that reconciles the payments not yet matched. Writes go
through relance.ledger.reconcile and relance.ledger.match_actions, as `relance match` does."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from relance.accounts.permissions import WRITE
from relance.ledger.balances import AllocationError
from relance.ledger.match_actions import ProposalError, assign_payment, confirm_proposal, reject_proposal
from relance.ledger.models import Invoice
from relance.ledger.reconcile import reconcile
from relance.lib.money import cents, parse_amount
from relance.web.orgs import org_view
from relance.web.reads import matching as reads


@org_view(post_perm=WRITE)
def matching(request):
    return render(request, "web/matching/matching.html", {"page": reads.get_matching_page(request.org)})


def _back(request, anchor: str = "queue"):
    return redirect(reverse("matching", args=[request.org.slug]) + f"#{anchor}")


@org_view(post_perm=WRITE)
@require_POST
def run(request):
    result = reconcile(request.org, user=request.user)
    messages.success(request, pgettext("matching", "%(applied)d payment(s) applied, %(queued)d waiting for review.")
                     % {"applied": result.applied, "queued": result.queued})
    return _back(request)


def _proposal(request, pk: int):
    proposal = reads.get_org_proposal(request.org, pk)
    if proposal is None:
        raise Http404
    return proposal


@org_view(post_perm=WRITE)
@require_POST
def confirm(request, pk: int):
    try:
        confirm_proposal(_proposal(request, pk), user=request.user)
        messages.success(request, pgettext("matching", "Confirmed: the payment is allocated."))
    except (ProposalError, AllocationError) as exc:
        messages.error(request, str(exc))
    return _back(request)


@org_view(post_perm=WRITE)
@require_POST
def reject(request, pk: int):
    try:
        reject_proposal(_proposal(request, pk), user=request.user)
        messages.success(request, pgettext("matching", "Rejected: assign the payment by hand."))
    except ProposalError as exc:
        messages.error(request, str(exc))
    return _back(request)


@org_view(post_perm=WRITE)
@require_POST
def assign(request, pk: int):
    payment = reads.get_org_payment(request.org, pk)
    if payment is None:
        raise Http404
    number = request.POST.get("invoice", "").strip()
    invoice = Invoice.objects.filter(organisation=request.org, number=number).first()
    try:
        if invoice is None:
            raise ProposalError(pgettext("matching", "Invoice %(number)s: no such invoice.") % {"number": number})
        raw = request.POST.get("amount", "").strip()
        try:
            amount = cents(parse_amount(raw)) if raw else None
        except ValueError as exc:
            raise ProposalError(pgettext("matching", "Amount %(amount)s: %(error)s") % {"amount": raw, "error": exc})
        assign_payment(payment, invoice, amount, user=request.user)
        messages.success(request, pgettext("matching", "Payment allocated to invoice %(number)s.") % {"number": number})
    except (ProposalError, AllocationError) as exc:
        messages.error(request, str(exc))
    return _back(request)


urlpatterns = [
    path("rapprochement/", matching, name="matching"),
    path("rapprochement/lancer/", run, name="matching_run"),
    path("rapprochement/propositions/<int:pk>/confirmer/", confirm, name="proposal_confirm"),
    path("rapprochement/propositions/<int:pk>/rejeter/", reject, name="proposal_reject"),
    path("rapprochement/paiements/<int:pk>/affecter/", assign, name="payment_assign"),
]
