"""The customer page (/o/<slug>/clients/<pk>/): key figures, contacts, invoices with their status
and next step, one timeline of everything, and the buttons of the collectors (each a small form
posted to an action URL below the page, each write through relance.dunning.actions or
relance.ledger.balances)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from relance.accounts.permissions import WRITE
from relance.channels.phone import outcomes
from relance.dossier.build import build_dossier, dossier_filename
from relance.dunning import actions, queries
from relance.dunning.models import Dispute, RecoveryCost, Task, TaskKind
from relance.dunning.numbers import format_money
from relance.ledger.balances import AllocationError
from relance.ledger.models import Contact, ContactRole, Customer, Invoice, Payment
from relance.web.orgs import org_view
from relance.web.pages import customer_forms as f
from relance.web.reads import customer as reads
from relance.web.reads.timeline import PAGE, Timeline
from relance.worker import deliver

# What an action may refuse with: its message is shown to the user.
REFUSALS = (actions.DunningError, AllocationError, outcomes.CallOutcomeError, ValidationError)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _customer(request, pk: int) -> Customer:
    try:
        return reads.get_customer(request.org, pk)
    except Customer.DoesNotExist:
        raise Http404


@org_view()
def customer(request, pk):
    org = request.org
    cust = _customer(request, pk)
    today = queries.org_today(org)
    figures = reads.get_figures(cust, today)
    statuses = reads.Statuses(org, cust, today, figures.total_due)
    open_rows = reads.list_open_invoices(statuses, cust)
    paid_page = max(_int(request.GET.get("paid"), 1), 1)
    closed_rows, more_closed = reads.list_closed_invoices(statuses, cust, paid_page)
    context = {
        "customer": cust, "today": today, "figures": figures, "open_rows": open_rows,
        "open_hidden": max(figures.open_count - len(open_rows), 0),
        "closed_rows": closed_rows, "paid_page": paid_page, "more_closed": more_closed,
        "next_action": reads.next_action(open_rows),
        "contacts": list(cust.contacts.order_by("kind", "pk")), "contact_roles": ContactRole.choices,
        "timeline_url": reverse("customer_timeline", args=[org.slug, cust.pk]),
        "disputed_rows": [r for r in open_rows if r["disputed"]],
        "costs": list(queries.list_costs(org, cust)),
    }
    if request.can["write"]:
        context["forms"] = _forms(open_rows, context["disputed_rows"])
        context["forms"]["contract_rate"] = f.ContractRateForm(
            prefix="rate", initial={"mode": cust.late_rate_mode, "value": cust.late_rate_value})
    return render(request, "web/customer/page.html", context)


@org_view()
def customer_timeline(request, pk):
    """The customer's timeline: a fragment for htmx (the page loads it), a page of its own otherwise."""
    cust = _customer(request, pk)
    return render_timeline(request, Timeline(request.org, cust), reverse("customer_timeline",
                                                                         args=[request.org.slug, cust.pk]))


def render_timeline(request, timeline: Timeline, timeline_url: str):
    limit = max(_int(request.GET.get("events"), PAGE), 1)
    events, more = timeline.events(limit)
    context = {"events": events, "more_events": more, "events_limit": limit + PAGE, "timeline_url": timeline_url,
               "customer": timeline.customer, "invoice": timeline.invoice}
    template = "web/customer/_timeline.html" if request.headers.get("HX-Request") else "web/customer/timeline.html"
    return render(request, template, context)


def _forms(open_rows: list[dict], disputed: list[dict]) -> dict:
    """The empty forms of the buttons, their invoice choices filled in."""
    forms = {
        "payment": f.PaymentForm(prefix="payment"), "call": f.CallForm(prefix="call"),
        "promise": f.PromiseForm(prefix="promise"), "dispute": f.DisputeForm(prefix="dispute"),
        "close_dispute": f.CloseDisputeForm(prefix="close"), "plan": f.PlanForm(prefix="plan"),
        "pause": f.PauseForm(prefix="pause"), "note": f.NoteForm(prefix="note"),
        "contact": f.ContactForm(prefix="contact"), "cost": f.CostForm(prefix="cost"),
    }
    undisputed = [r for r in open_rows if not r["disputed"]]
    forms["payment"].set_invoices("invoices", open_rows)
    forms["promise"].set_invoices("invoices", undisputed)
    forms["dispute"].set_invoices("invoice", undisputed)
    forms["close_dispute"].set_invoices("invoice", disputed)
    forms["plan"].set_invoices("invoices", [r for r in undisputed if not r["in_plan"]])
    forms["note"].set_invoices("invoice", open_rows)
    forms["cost"].set_invoices("invoice", open_rows)
    return forms


# ---- the buttons ----


def _open_invoices(customer: Customer, ids) -> list[Invoice]:
    """The customer's invoices among `ids` (another customer's or organisation's: left out), oldest first."""
    wanted = [_int(i, 0) for i in ids]
    return list(Invoice.objects.filter(customer=customer, pk__in=wanted).order_by("due_date", "number"))


def _invoice_rows(customer: Customer) -> list[dict]:
    return list(Invoice.objects.filter(customer=customer, open_balance__gt=0).values("pk", "number"))


def _bound(form_class, request, prefix: str, customer: Customer, *choice_fields: str):
    form = form_class(request.POST, request.FILES, prefix=prefix)
    rows = _invoice_rows(customer) if choice_fields else None
    for name in choice_fields:
        form.set_invoices(name, rows)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[k].label if k in form.fields else ''}: {' '.join(v)}".strip(": ")
                           for k, v in form.errors.items())
        raise ValidationError(errors)
    return form.cleaned_data


def do_payment(request, customer):
    data = _bound(f.PaymentForm, request, "payment", customer, "invoices")
    invoices = _open_invoices(customer, data["invoices"])
    shares = f.spread(data["amount"], [inv.open_balance for inv in invoices])
    payment = Payment(organisation=request.org, customer=customer, date=data["date"], amount=data["amount"],
                      method=data["method"], reference=data["reference"], currency=request.org.currency)
    allocations = [(inv, share) for inv, share in zip(invoices, shares, strict=True) if share > 0]
    actions.receive_payment(payment, allocations, user=request.user)
    return _("Payment of {amount} recorded, allocated to {n} invoice(s).").format(
        amount=format_money(data["amount"], get_language() or "fr", payment.currency), n=len(allocations))


def do_call(request, customer):
    data = _bound(f.CallForm, request, "call", customer)
    with transaction.atomic():
        task = (Task.objects.filter(customer=customer, kind=TaskKind.CALL, state=Task.State.OPEN)
                .order_by("due_date", "pk").first())
        if task is None:
            overdue = Invoice.objects.filter(customer=customer, open_balance__gt=0,
                                             due_date__lt=queries.org_today(request.org))
            task = actions.create_task(customer, TaskKind.CALL, _("Call {name}").format(name=customer.name),
                                       invoices=overdue, assignee=request.user, user=request.user)
        fields = {k: data[k] for k in ("date", "amount", "reason", "reference", "note") if data[k] not in (None, "")}
        outcomes.record_call_outcome(task, data["outcome"], fields, user=request.user)
    return _("Call logged: {outcome}.").format(outcome=f.OUTCOME_LABELS[data["outcome"]])


def do_promise(request, customer):
    data = _bound(f.PromiseForm, request, "promise", customer, "invoices")
    invoices = _open_invoices(customer, data["invoices"])
    amount = data["amount"]
    shares = f.spread(amount, [i.open_balance for i in invoices]) if amount else [None] * len(invoices)
    with transaction.atomic():
        for invoice, share in zip(invoices, shares, strict=True):
            if share is None or share > 0:
                actions.record_promise(invoice, data["promised_date"], amount=share, user=request.user)
    return _("Promise recorded on {n} invoice(s).").format(n=len(invoices))


def do_dispute(request, customer):
    data = _bound(f.DisputeForm, request, "dispute", customer, "invoice")
    invoice = get_object_or_404(Invoice, customer=customer, pk=data["invoice"])
    actions.open_dispute(invoice, data["reason"], user=request.user)
    return _("Dispute opened on {number}.").format(number=invoice.number)


def do_close_dispute(request, customer):
    data = _bound(f.CloseDisputeForm, request, "close", customer, "invoice")
    invoice = get_object_or_404(Invoice, customer=customer, pk=data["invoice"])
    dispute = Dispute.objects.filter(invoice=invoice, is_open=True).first()
    if dispute is None:
        raise actions.DunningError(_("No open dispute on {number}.").format(number=invoice.number))
    actions.close_dispute(dispute, data["resolution"], user=request.user)
    return _("Dispute on {number} closed.").format(number=invoice.number)


def do_plan(request, customer):
    data = _bound(f.PlanForm, request, "plan", customer, "invoices")
    invoices = _open_invoices(customer, data["invoices"])
    total = sum((i.open_balance for i in invoices), Decimal("0"))
    instalments = f.monthly_instalments(total, data["count"], data["first_date"])
    actions.add_payment_plan(customer, invoices, instalments, note=data["note"], user=request.user)
    return _("Payment plan set up: {n} instalment(s).").format(n=len(instalments))


def do_pause(request, customer):
    data = _bound(f.PauseForm, request, "pause", customer)
    actions.pause_customer(customer, data["until"], data["reason"], user=request.user)
    return _("Reminders paused until {day}.").format(day=data["until"].strftime("%d/%m/%Y"))


def do_contract_rate(request, customer):
    data = _bound(f.ContractRateForm, request, "rate", customer)
    actions.set_contract_rate(customer, data["mode"], data["value"], user=request.user)
    return _("Late-payment rate saved.")


def do_resume(request, customer):
    actions.resume_customer(customer, user=request.user)
    return _("Reminders resumed.")


def do_send_next(request, customer):
    reminders = actions.send_next_step_now(customer, user=request.user)
    transaction.on_commit(lambda: _deliver(request.org))
    return _("Next step planned now: {n} message(s) handed to delivery.").format(n=len(reminders))


def do_statement(request, customer):
    actions.send_statement_now(customer, user=request.user)
    transaction.on_commit(lambda: _deliver(request.org))
    return _("Statement of account handed to delivery.")


def _deliver(org) -> None:
    # The normal delivery (the pool when there is one): it claims what is due, ours included.
    deliver(org)


def do_note(request, customer):
    data = _bound(f.NoteForm, request, "note", customer, "invoice")
    invoice = get_object_or_404(Invoice, customer=customer, pk=data["invoice"]) if data["invoice"] else None
    actions.add_note(customer, data["text"], invoice=invoice, user=request.user)
    return _("Note added.")


def do_add_contact(request, customer):
    data = _bound(f.ContactForm, request, "contact", customer)
    actions.add_contact(customer, data["kind"], data["value"], data["role"], data["name"], user=request.user)
    return _("Contact added.")


def _contact(customer: Customer, pk: int) -> Contact:
    return get_object_or_404(Contact, customer=customer, pk=pk)


def do_update_contact(request, customer):
    data = _bound(f.ContactUpdateForm, request, "edit", customer)
    contact = _contact(customer, data["contact"])
    actions.update_contact(contact, data["value"], data["role"], data["name"], data["valid"], user=request.user)
    return _("Contact updated.")


def do_remove_contact(request, customer):
    data = _bound(f.ContactRemoveForm, request, "remove", customer)
    actions.remove_contact(_contact(customer, data["contact"]), user=request.user)
    return _("Contact removed.")


def do_add_cost(request, customer):
    data = _bound(f.CostForm, request, "cost", customer, "invoice")
    invoice = get_object_or_404(Invoice, customer=customer, pk=data["invoice"]) if data["invoice"] else None
    upload = data["document"]
    document = (upload.name, upload.read()) if upload else None
    actions.record_cost(customer, data["date"], data["kind"], data["amount"], data["label"], invoice=invoice,
                        document=document, user=request.user)
    return _("Recovery cost of {amount} recorded.").format(
        amount=format_money(data["amount"], get_language() or "fr", request.org.currency))


def do_remove_cost(request, customer):
    data = _bound(f.CostRemoveForm, request, "remove", customer)
    actions.remove_cost(get_object_or_404(RecoveryCost, customer=customer, pk=data["cost"]), user=request.user)
    return _("Recovery cost removed.")


BUTTONS = {
    "payment": do_payment, "call": do_call, "promise": do_promise, "dispute": do_dispute,
    "close-dispute": do_close_dispute, "plan": do_plan, "pause": do_pause, "resume": do_resume,
    "send-next": do_send_next, "statement": do_statement, "note": do_note, "add-contact": do_add_contact,
    "update-contact": do_update_contact, "remove-contact": do_remove_contact,
    "contract-rate": do_contract_rate, "add-cost": do_add_cost, "remove-cost": do_remove_cost,
}


@org_view(post_perm=WRITE)
@require_POST
def customer_action(request, pk, action):
    do = BUTTONS.get(action)
    if do is None:
        raise Http404
    cust = _customer(request, pk)
    try:
        done = do(request, cust)
    except REFUSALS as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    else:
        messages.success(request, done)
    return redirect(_next(request, cust))


def _next(request, customer: Customer) -> str:
    """Back to the page the form was on (the invoice page posts here too), else the customer page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()) \
            and target.startswith(f"/o/{request.org.slug}/"):
        return target
    return reverse("customer", args=[request.org.slug, customer.pk])


@org_view(WRITE)
def customer_dossier(request, pk):
    """The customer's evidence dossier (relance.dossier.build), as a ZIP download."""
    cust = _customer(request, pk)
    day = queries.org_today(request.org)
    response = HttpResponse(build_dossier(request.org, cust, day), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{dossier_filename(cust, day)}"'
    return response


@org_view()
def cost_document(request, pk, cost_pk):
    """A recovery cost's supporting document, through the organisation's wall (never a public media URL)."""
    row = get_object_or_404(RecoveryCost, customer=_customer(request, pk), pk=cost_pk)
    if not row.document:
        raise Http404
    try:
        handle = row.document.open("rb")
    except FileNotFoundError:
        raise Http404
    return FileResponse(handle, as_attachment=True, filename=row.document.name.rsplit("/", 1)[-1])


urlpatterns = [
    path("clients/<int:pk>/", customer, name="customer"),
    path("clients/<int:pk>/historique/", customer_timeline, name="customer_timeline"),
    path("clients/<int:pk>/<slug:action>/", customer_action, name="customer_action"),
    path("clients/<int:pk>/dossier.zip", customer_dossier, name="customer_dossier"),
    path("clients/<int:pk>/frais/<int:cost_pk>/", cost_document, name="customer_cost_document"),
]
