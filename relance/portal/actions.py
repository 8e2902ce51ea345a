"""The portal's writes: a visit recorded, a customer's answer (already paid, dispute, payment plan
asked), and a collector handling that answer.

An answer holds the dunning of the invoices it names: relance.dunning.rules.hold_reason says "portal"
for an invoice with an open PortalRequest (the planner's snapshot reads them with the disputes and
promises), so the run plans nothing for them and delivery drops them right before a send. Handling
the answer (handle_portal_request) lifts the hold and gives the invoices their next date back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from relance.accounts.permissions import WRITE, require
from relance.audit import log as audit_log
from relance.dunning import actions as dunning
from relance.dunning.models import Reminder, Task, TaskKind
from relance.dunning.queries import org_today
from relance.ledger.models import Customer, Invoice
from relance.portal.models import PortalRequest, PortalVisit
from relance.web.templatetags.relance_format import money

DEFAULT_ANSWERS_PER_HOUR = 5
# What a proof of payment may be: its extension, its media type and how its content starts.
PROOF_KINDS = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
}
TASK_KIND = {
    PortalRequest.Kind.PAID: TaskKind.CHECK_PAYMENT,
    PortalRequest.Kind.DISPUTE: TaskKind.REVIEW,
    PortalRequest.Kind.PLAN: TaskKind.REVIEW,
}


class PortalError(Exception):
    """An answer or a handling that cannot be accepted (the message says why)."""


class TooManyAnswers(PortalError):
    """The customer has sent RELANCE_PORTAL_ANSWERS_PER_HOUR answers within the hour."""


def answers_per_hour() -> int:
    return int(getattr(settings, "RELANCE_PORTAL_ANSWERS_PER_HOUR", DEFAULT_ANSWERS_PER_HOUR))


def answers_left(customer: Customer) -> int:
    """How many answers the customer may still send this hour (the limit counts every link of theirs)."""
    since = timezone.now() - timedelta(hours=1)
    sent = PortalRequest.objects.filter(customer=customer, created_at__gte=since).count()
    return max(answers_per_hour() - sent, 0)


@transaction.atomic
def record_visit(customer: Customer, *, page: str = "home", ip_address: str | None = None, user_agent: str = "",
                 reminder_id: int | None = None) -> PortalVisit:
    """One page view of the portal: the proof the customer saw it (when, from where)."""
    visit = PortalVisit.objects.create(
        organisation_id=customer.organisation_id, customer=customer, page=page[:40], ip_address=ip_address or None,
        user_agent=(user_agent or "")[:300], reminder_id=reminder_id,
    )
    audit_log.record("portal.visit", visit, None, {"customer": customer.external_id}, actor="portal")
    return visit


def proof_kind(name: str, head: bytes) -> str:
    """The proof's extension when its name and its content agree on PDF, PNG or JPEG, else ""."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = PROOF_KINDS.get(extension)
    if kind is None or not head.startswith(kind[1]):
        return ""
    return "jpg" if extension == "jpeg" else extension


@transaction.atomic
def submit_answer(
    customer: Customer,
    kind: str,
    invoices: Sequence[Invoice],
    *,
    paid_on: date | None = None,
    amount: Decimal | None = None,
    reason: str = "",
    comment: str = "",
    instalments: int | None = None,
    proof=None,
    reminder_id: int | None = None,
) -> PortalRequest:
    """The customer's answer on the portal: a PortalRequest, the dunning of its invoices held until
    a collector handles it (pending reminders re-checked now), and a task for the team."""
    if kind not in PortalRequest.Kind.values:
        raise PortalError(f"unknown answer {kind!r}")
    # One answer at a time per customer: the hourly limit is counted under this lock.
    customer = Customer.objects.select_for_update(of=("self",)).select_related("organisation", "collector").get(
        pk=customer.pk)
    org = customer.organisation
    if answers_left(customer) <= 0:
        raise TooManyAnswers("too many answers in the last hour")
    invoices = list(invoices)
    if not invoices:
        raise PortalError("an answer names at least one invoice")
    if any(inv.customer_id != customer.pk or inv.organisation_id != org.pk for inv in invoices):
        raise PortalError("an invoice of another customer")
    if reminder_id is not None and not Reminder.objects.filter(pk=reminder_id, customer=customer).exists():
        reminder_id = None
    request = PortalRequest.objects.create(
        organisation=org, customer=customer, kind=kind, paid_on=paid_on, amount=amount, reason=reason[:200],
        comment=comment, instalments=instalments, reminder_id=reminder_id,
    )
    request.invoices.set(invoices)
    if proof is not None:
        head = proof.read(16)
        proof.seek(0)
        extension = proof_kind(proof.name or "", head)
        if not extension:
            raise PortalError("a proof of payment is a PDF, PNG or JPEG file")
        name = f"{customer.pk}-{request.pk}-{get_random_string(12)}.{extension}"
        request.proof.save(name, File(proof), save=False)
    with translation.override(org.language or "fr"):
        title, script = _task_text(request, customer, invoices)
    task = dunning.create_task(
        customer, TASK_KIND[kind], title, due_date=org_today(org), invoices=invoices, script=script,
        reminder=request.reminder,
    )
    request.task = task
    request.save(update_fields=["proof", "task"])
    _hold(org, customer, [inv.pk for inv in invoices])
    audit_log.record("portal.request", request, None, {"invoices": [i.number for i in invoices]}, actor="portal")
    return request


def _hold(org, customer: Customer, invoice_ids: list[int]) -> None:
    """Apply the rule again where it was applied before: the next dates, and the reminders not sent yet."""
    dunning.refresh_next_dates(org, invoice_ids)
    pending = Reminder.objects.filter(
        customer=customer, state__in=dunning.PENDING_STATES, lines__invoice_id__in=invoice_ids, lines__dropped=False,
    ).distinct().select_related("organisation")
    for reminder in pending:
        dunning.revalidate_reminder(reminder)


def _task_text(request: PortalRequest, customer: Customer, invoices: list[Invoice]) -> tuple[str, str]:
    numbers = ", ".join(inv.number for inv in invoices)
    if request.kind == PortalRequest.Kind.PAID:
        title = _("Check a payment {customer} says it made").format(customer=customer.name)
        lines = [_("The customer says it paid {amount} on {date}.").format(
            amount=money(request.amount), date=request.paid_on.strftime("%d/%m/%Y") if request.paid_on else "?")]
        if request.proof:
            lines.append(_("A proof of payment is attached to the answer."))
    elif request.kind == PortalRequest.Kind.DISPUTE:
        title = _("Review the dispute {customer} sent").format(customer=customer.name)
        lines = [_("Reason: {reason}").format(reason=request.reason)]
    else:
        title = _("Review the payment plan {customer} asks for").format(customer=customer.name)
        lines = [_("Instalments proposed: {count}").format(count=request.instalments or "?")]
    if request.comment:
        lines.append(_("Comment: {comment}").format(comment=request.comment))
    lines.append(_("Invoices: {numbers}").format(numbers=numbers))
    lines.append(_("No reminder goes out for these invoices until the answer is handled."))
    return title, "\n".join(lines)


@transaction.atomic
def handle_portal_request(request: PortalRequest, resolution: str, user) -> PortalRequest:
    """A collector has dealt with the customer's answer: it is closed with what was decided, its
    task done, and the dunning of its invoices resumes (unless another open answer names them)."""
    require(user, request.organisation_id, WRITE)
    if not resolution.strip():
        raise PortalError("say what was decided")
    locked = PortalRequest.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=request.pk)
    if locked.state != PortalRequest.State.OPEN:
        raise PortalError(f"answer {locked.pk} was already handled")
    now = timezone.now()
    locked.state = PortalRequest.State.HANDLED
    locked.resolution = resolution.strip()[:300]
    locked.handled_by = user
    locked.handled_at = now
    locked.save(update_fields=["state", "resolution", "handled_by", "handled_at"])
    if locked.task_id:
        Task.objects.filter(pk=locked.task_id, state=Task.State.OPEN).update(
            state=Task.State.DONE, done_at=now, outcome="handled",
        )
    dunning.refresh_next_dates(locked.organisation, list(locked.invoices.values_list("pk", flat=True)))
    audit_log.record("portal.handled", locked, user, {"invoices": [i.number for i in locked.invoices.all()]})
    request.state, request.resolution, request.handled_by, request.handled_at = (
        locked.state, locked.resolution, locked.handled_by, locked.handled_at
    )
    return request
