"""What came out of a call, fed back to the engine.

    reached_promise  (date, amount?)            a promise to pay on the task's invoices
    reached_dispute  (reason, invoices?)        a dispute on the invoices (all, or the numbers given)
    plan_requested   (note?)                    a task to propose a payment plan
    already_paid     (date, amount, reference)  a task to check the payment in the bank statement
    no_answer                                   a new call task the next business day
    wrong_number                                the number marked invalid, a "fix contact" task
A "reached" outcome (the first four) also prepares the recap e-mail: a reminder on the e-mail
channel with the `call_recap` template, waiting for a person to approve it, and its rendered text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from relance.channels import templates
from relance.channels.context import build_customer_context
from relance.channels.phone.channel import CallChannel
from relance.channels.sms.channel import InvalidPhoneNumber, normalise_number
from relance.dunning import actions
from relance.dunning.models import Dispute, Promise, Reminder, Task, TaskKind
from relance.ledger.models import Contact
from relance.lib.dates import add_business_days
from relance.lib.money import cents, parse_amount

REACHED = ("reached_promise", "reached_dispute", "plan_requested", "already_paid")
OUTCOMES = (*REACHED, "no_answer", "wrong_number")


class CallOutcomeError(ValueError):
    """The outcome or one of its fields is wrong; the message names the field."""


@dataclass
class CallRecap:
    subject: str
    body_text: str
    recipient: str
    reminder: Reminder | None = None  # the planned e-mail awaiting approval, when one could be created


@dataclass
class CallOutcome:
    task: Task
    outcome: str
    promises: list[Promise] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    recap: CallRecap | None = None


def _date(data: dict, name: str, required: bool = True) -> date | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            raise CallOutcomeError(f"{name}: date required (YYYY-MM-DD)")
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CallOutcomeError(f"{name}: not a date (YYYY-MM-DD): {value!r}")


def _amount(data: dict, name: str, required: bool = False) -> Decimal | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            raise CallOutcomeError(f"{name}: amount required")
        return None
    if isinstance(value, float):
        raise CallOutcomeError(f"{name}: give the amount as text or Decimal, not a float")
    try:
        amount = cents(value if isinstance(value, Decimal) else parse_amount(str(value)))
    except ValueError as exc:
        raise CallOutcomeError(f"{name}: {exc}")
    if amount <= 0:
        raise CallOutcomeError(f"{name}: must be positive, got {amount}")
    return amount


def _text(data: dict, name: str, required: bool = False) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        raise CallOutcomeError(f"{name}: required")
    return value


def _open_invoices(task: Task, numbers: list[str] | None = None) -> list:
    invoices = list(task.invoices.filter(open_balance__gt=0).order_by("due_date", "number"))
    if numbers:
        wanted = set(numbers)
        unknown = wanted - {i.number for i in invoices}
        if unknown:
            raise CallOutcomeError(f"invoices: not open invoices of this call: {', '.join(sorted(unknown))}")
        invoices = [i for i in invoices if i.number in wanted]
    return invoices


def _split(amount: Decimal | None, invoices: list) -> list[Decimal | None]:
    """A promised amount spread over the invoices, oldest first; None (the whole balance) when none given."""
    if amount is None:
        return [None] * len(invoices)
    shares, left = [], amount
    for invoice in invoices:
        share = min(left, invoice.open_balance)
        shares.append(share if share > 0 else None)
        left -= max(share, 0)
    return shares


def record_call_outcome(task: Task, outcome: str, data: dict | None = None, user=None) -> CallOutcome:
    """Record what came out of a call task and feed the engine (see the module docstring).

    The outcome and its fields are read here; relance.dunning.actions.record_call_outcome writes."""
    data = dict(data or {})
    if outcome not in OUTCOMES:
        raise CallOutcomeError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    task = Task.objects.select_related("customer", "organisation", "reminder").get(pk=task.pk)
    org_today = _today(task)
    try:
        actions.check_call_task(task)
        report = _read(task, outcome, data, org_today)
        record = actions.record_call_outcome(task, outcome, report.pop("stored"), user=user, **report)
    except ValueError as exc:  # the engine's refusals (DunningError) are ValueErrors with a French message
        if isinstance(exc, CallOutcomeError):
            raise
        raise CallOutcomeError(str(exc))
    result = CallOutcome(task, outcome, record.promises, record.disputes, record.tasks)
    if outcome in REACHED:
        result.recap = prepare_call_recap(task, org_today)
    return result


def _read(task: Task, outcome: str, data: dict, org_today: date) -> dict:
    """The outcome's fields, checked, as the keyword arguments of actions.record_call_outcome."""
    stored = {"note": _text(data, "note")}
    report: dict = {"stored": stored}
    if outcome == "reached_promise":
        promised = _date(data, "date")
        if promised < org_today:
            raise CallOutcomeError(f"date: a promise to pay is for today or later, got {promised}")
        amount = _amount(data, "amount")
        invoices = _open_invoices(task, data.get("invoices"))
        report["promises"] = [(invoice, promised, share)
                              for invoice, share in zip(invoices, _split(amount, invoices), strict=True)]
        stored.update(date=promised.isoformat(), amount=str(amount) if amount else "")
    elif outcome == "reached_dispute":
        reason = _text(data, "reason", required=True)
        report["disputes"] = [(invoice, reason) for invoice in _open_invoices(task, data.get("invoices"))]
        stored.update(reason=reason)
    elif outcome == "plan_requested":
        title = f"Proposer un échéancier à {task.customer.name}"
        report["follow_up"] = actions.FollowUp(TaskKind.REVIEW, title, org_today, stored["note"])
    elif outcome == "already_paid":
        paid_on = _date(data, "date")
        amount = _amount(data, "amount", required=True)
        reference = _text(data, "reference")
        title = f"Vérifier le paiement annoncé par {task.customer.name} : {amount} € le {paid_on.isoformat()}"
        if reference:
            title += f" (réf. {reference})"
        report["follow_up"] = actions.FollowUp(TaskKind.CHECK_PAYMENT, title, org_today)
        stored.update(date=paid_on.isoformat(), amount=str(amount), reference=reference)
    elif outcome == "no_answer":
        attempt = int((task.outcome_data or {}).get("attempt", 1))
        report["follow_up"] = actions.FollowUp(TaskKind.CALL, task.title, add_business_days(org_today, 1),
                                               task.script, {"attempt": attempt + 1})
        stored.update(attempt=attempt)
    elif outcome == "wrong_number":
        contact = _dialled_contact(task, data)
        number = contact.value if contact is not None else ""
        if contact is not None:
            report["wrong_number"] = contact
            report["wrong_reason"] = f"mauvais numéro (appel du {org_today.isoformat()})"
        title = f"Corriger le numéro de téléphone de {task.customer.name} ({number} : mauvais numéro)"
        report["follow_up"] = actions.FollowUp(TaskKind.FIX_CONTACT, title, org_today)
        stored.update(number=number)
    return report


def _today(task: Task) -> date:
    return timezone.localtime(timezone.now(), ZoneInfo(task.organisation.time_zone)).date()


def _dialled_contact(task: Task, data: dict) -> Contact | None:
    """The number that was wrong: the contact given, else the one the call task was made for."""
    contacts = Contact.objects.filter(customer=task.customer, kind="phone")
    contact = None
    if data.get("contact_id"):
        contact = contacts.filter(pk=data["contact_id"]).first()
        if contact is None:
            raise CallOutcomeError(f"contact_id: no phone contact {data['contact_id']} for this customer")
    if contact is None and task.reminder_id and task.reminder.recipient:
        dialled = task.reminder.recipient
        contact = next((c for c in contacts.filter(valid=True) if _same_number(c.value, dialled)), None)
    if contact is None:
        contact = CallChannel().recipient(task.customer)
    return contact


def _same_number(a: str, b: str) -> bool:
    try:
        return normalise_number(a) == normalise_number(b)
    except InvalidPhoneNumber:
        return "".join(a.split()) == "".join(b.split())


def prepare_call_recap(task: Task, today: date) -> CallRecap:
    """The recap e-mail, rendered; also planned as an e-mail reminder awaiting approval when possible."""
    customer = task.customer
    invoices = list(task.invoices.filter(open_balance__gt=0).order_by("due_date", "number"))
    email = customer.contacts.filter(kind="email", valid=True).order_by("id").first()
    contact = {"name": email.name if email else "", "value": email.value if email else ""}
    language = customer.language if customer.language in templates.LANGUAGES else "fr"
    context = build_customer_context(task.organisation, customer, invoices, language, contact=contact,
                                     step={"code": "call-recap", "tone": "friendly"}, today=today)
    message = templates.render_message("call_recap", language, context, task.organisation)
    recap = CallRecap(message.subject, message.text, contact["value"])
    if email and invoices:
        # None when an e-mail already went to this customer today: the text is returned instead.
        recap.reminder = actions.plan_call_recap(task, today, email.value, invoices, language)
    return recap
