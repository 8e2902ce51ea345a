"""The customer portal: /p/<token>/, no account, in the customer's language.

The page lists the customer's open invoices (their PDFs behind the same token), the amount due, the
bank details, the transfer reference and the EPC QR code of that very amount, the organisation's
payment link when it has one, and three answers: already paid, dispute, payment plan asked. A
token that does not verify, has expired, or names a customer outside its organisation answers 404.
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_GET, require_POST

from relance.channels.context import build_customer_context, list_open_invoices
from relance.dunning.queries import org_today
from relance.ledger.models import Customer, Invoice
from relance.lib.money import ZERO
from relance.portal import actions
from relance.portal.forms import FORMS, proof_max_bytes
from relance.portal.models import PortalRequest
from relance.portal.tokens import PortalKey, read_token

LANGUAGES = ("fr", "en")
# What an answer's fields weigh besides the proof of payment.
FORM_OVERHEAD_BYTES = 64 * 1024


def _customer(token: str) -> tuple[Customer, PortalKey]:
    """The customer the token names, or 404 (tampered, expired, or not of that organisation)."""
    key = read_token(token)
    if key is None:
        raise Http404
    customer = (
        Customer.objects.select_related("organisation", "collector")
        .filter(pk=key.customer_id, organisation_id=key.organisation_id)
        .first()
    )
    if customer is None:
        raise Http404
    return customer, key


def _language(customer: Customer) -> str:
    return customer.language if customer.language in LANGUAGES else (customer.organisation.language or "fr")


def _client_ip(request) -> str | None:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and getattr(settings, "AXES_IPWARE_PROXY_COUNT", None):
        return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def _private(response: HttpResponse, language: str) -> HttpResponse:
    """Nothing of the page kept by caches or search engines."""
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Content-Language"] = language
    return response


def _page(request, token: str, customer: Customer, forms: dict | None = None, status: int = 200,
          sent: str = "", limited: bool = False) -> HttpResponse:
    org = customer.organisation
    today = org_today(org)
    invoices = list_open_invoices(customer)
    language = _language(customer)
    context = build_customer_context(org, customer, invoices, language, today=today, other_overdue=[],
                                     previous_contacts=[], contact={"name": "", "value": ""})
    held = set(
        PortalRequest.invoices.through.objects.filter(
            portalrequest__customer=customer, portalrequest__state=PortalRequest.State.OPEN
        ).values_list("invoice_id", flat=True)
    )
    open_answers = list(
        PortalRequest.objects.filter(customer=customer, state=PortalRequest.State.OPEN).order_by("-created_at")
        .only("kind", "created_at")[:20]
    )
    rows = [
        {"invoice": inv, "days_late": (today - inv.due_date).days, "held": inv.pk in held,
         "document": bool(inv.document)}
        for inv in invoices
    ]
    if forms is None:
        forms = {kind: form_class(invoices=invoices, today=today) for kind, form_class in FORMS.items()}
    page = {
        "token": token, "org": org, "customer": customer, "rows": rows, "today": today,
        "amount_due": context["total_due"] if invoices else ZERO, "currency": context["currency"],
        "iban": " ".join(context["iban"][i:i + 4] for i in range(0, len(context["iban"] or ""), 4)),
        "bic": context["bic"], "reference": context["reference"],
        "qr": context["epc_qr_png_data_uri"], "epc_payload": context["epc_payload"],
        "payment_link": context["payment_link"], "collector": context["collector"],
        "forms": forms, "sent": sent if sent in FORMS else "", "limited": limited,
        "open_answers": open_answers, "can_answer": bool(invoices) and not limited,
    }
    return _private(render(request, "portal/home.html", page, status=status), language)


@require_GET
def home(request, token: str):
    customer, key = _customer(token)
    actions.record_visit(customer, page="home", ip_address=_client_ip(request),
                         user_agent=request.META.get("HTTP_USER_AGENT", ""), reminder_id=_reminder(customer, key))
    with translation.override(_language(customer)):
        return _page(request, token, customer, sent=request.GET.get("sent", ""),
                     limited=actions.answers_left(customer) <= 0)


def _reminder(customer: Customer, key: PortalKey) -> int | None:
    """The reminder the link came with, when it is indeed one of this customer's."""
    if key.reminder_id is None:
        return None
    from relance.dunning.models import Reminder

    return key.reminder_id if Reminder.objects.filter(pk=key.reminder_id, customer=customer).exists() else None


@require_POST
def answer(request, token: str, kind: str):
    customer, key = _customer(token)
    if kind not in FORMS:
        raise Http404
    org = customer.organisation
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > proof_max_bytes() + FORM_OVERHEAD_BYTES:
        # Refused before Django reads the upload: the form would refuse the proof anyway.
        return HttpResponse(status=413)
    with translation.override(_language(customer)):
        if actions.answers_left(customer) <= 0:
            return _page(request, token, customer, status=429, limited=True)
        invoices = list_open_invoices(customer)
        today = org_today(org)
        form = FORMS[kind](request.POST, request.FILES, invoices=invoices, today=today)
        if not invoices or not form.is_valid():
            forms = {k: (form if k == kind else cls(invoices=invoices, today=today)) for k, cls in FORMS.items()}
            return _page(request, token, customer, forms=forms, status=400)
        data = form.cleaned_data
        reason = ""
        if kind == "dispute":
            with translation.override(org.language or "fr"):
                reason = form.reason_label()  # for the team, in the organisation's language
        try:
            actions.submit_answer(
                customer, kind, form.chosen_invoices(), paid_on=data.get("paid_on"), amount=data.get("amount"),
                reason=reason, comment=data.get("comment") or "", instalments=data.get("instalments"),
                proof=data.get("proof"), reminder_id=_reminder(customer, key),
            )
        except actions.TooManyAnswers:
            return _page(request, token, customer, status=429, limited=True)
        except actions.PortalError as exc:
            form.add_error(None, str(exc))
            forms = {k: (form if k == kind else cls(invoices=invoices, today=today)) for k, cls in FORMS.items()}
            return _page(request, token, customer, forms=forms, status=400)
    return redirect(reverse("portal:home", args=[token]) + f"?sent={kind}")


@require_GET
def invoice_pdf(request, token: str, invoice_id: int):
    customer, key = _customer(token)
    invoice = (
        Invoice.objects.filter(pk=invoice_id, customer=customer, organisation_id=customer.organisation_id)
        .only("number", "document").first()
    )
    if invoice is None or not invoice.document:
        raise Http404
    try:
        handle = invoice.document.open("rb")
    except OSError:
        raise Http404
    actions.record_visit(customer, page=f"pdf:{invoice.number}", ip_address=_client_ip(request),
                         user_agent=request.META.get("HTTP_USER_AGENT", ""), reminder_id=_reminder(customer, key))
    response = FileResponse(handle, as_attachment=True, filename=f"{invoice.number}.pdf",
                            content_type="application/pdf")
    return _private(response, _language(customer))
