"""The call channel: a call Task for the customer's collector (or the shared pool) with the script,
the number to dial, the invoices and a short history. Its "backend" writes the task."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.translation import pgettext_lazy

from relance.channels.base import Backend, Channel, DeliveryError, Outgoing, Receipt
from relance.dunning.queries import org_today

if TYPE_CHECKING:
    from relance.dunning.models import Reminder, Task
    from relance.ledger.models import Contact, Customer

ROLE_ORDER = {"billing": 0, "accounting": 1, "main": 2}
HISTORY_SIZE = 5

# Used when neither the organisation nor the shipped templates have "call_script" (the seeds' script).
FALLBACK = {
    "fr": ("Appeler {customer} ({total})",
           "« Bonjour{name}, je vous appelle au sujet de la facture n° {numbers}, qui était due le {due}, pour un "
           "montant de {total}. Avez-vous ce dossier sous les yeux ? Quelles sont les prochaines étapes de votre "
           "côté ? Pourriez-vous me donner une date de virement précise ? »"),
    "en": ("Call {customer} ({total})",
           "\"Hello{name}, I am calling about invoice no. {numbers}, which was due on {due}, for {total}. Do you "
           "have the file in front of you? What are the next steps on your side? Could you give me a precise "
           "date for the transfer?\""),
}
LANGUAGES = ("fr", "en")
HISTORY_TITLE = pgettext_lazy("call script", "Recent history:")


def _script(reminder: Reminder, context: dict) -> tuple[str, str]:
    from relance.channels import templates

    try:
        subject = templates.render(reminder.template, reminder.language, context, "subject", reminder.organisation)
        body = templates.render(reminder.template, reminder.language, context, "text", reminder.organisation)
    except templates.TemplateNotFound:
        subject = body = ""
    if body.strip():
        return subject, body
    language = reminder.language if reminder.language in FALLBACK else "fr"
    title, text = FALLBACK[language]
    invoices = context.get("invoices", [])
    name = (context.get("contact") or {}).get("name") or ""
    values = {
        "customer": context["customer"]["name"], "name": f" {name}" if name else "",
        "numbers": ", ".join(i["number"] for i in invoices),
        "due": templates.format_day(min((i["due_date"] for i in invoices), default=None), language),
        "total": templates.format_money(context.get("total_due"), context.get("currency") or "EUR", language),
    }
    return subject or title.format(**values), text.format(**values)


def history_lines(reminder: Reminder, language: str = "fr") -> list[str]:
    """The customer's last reminders and call outcomes, newest first (what the caller should know)."""
    from relance.dunning.models import Reminder as ReminderModel
    from relance.dunning.models import Task

    rows = []
    for r in (ReminderModel.objects.filter(customer=reminder.customer).exclude(pk=reminder.pk)
              .order_by("-run_date", "-id")[:HISTORY_SIZE]):
        rows.append((r.run_date, f"{r.get_channel_display()} « {r.step_code} » : {r.get_state_display()}"))
    for t in (Task.objects.filter(customer=reminder.customer, kind="call").exclude(outcome="")
              .order_by("-done_at", "-id")[:HISTORY_SIZE]):
        day = org_today(reminder.organisation, t.done_at) if t.done_at else t.due_date
        note = (t.outcome_data or {}).get("note", "")
        rows.append((day, f"appel : {t.outcome}{' – ' + note if note else ''}"))
    rows.sort(key=lambda row: row[0], reverse=True)
    return [f"- {day.isoformat()} {text}" for day, text in rows[:HISTORY_SIZE]]


class CallTaskBackend(Backend):
    """Writes the call task of a reminder (created once; a retry fills the same task).

    The reminder is read from the message (X-Reminder-ID): the delivery pipeline may reuse one
    backend for every call of an organisation.
    """

    kind = "call"

    def __init__(self, reminder: Reminder | None = None):
        self.reminder = reminder

    def send(self, message: Outgoing) -> Receipt:
        from relance.dunning.models import Reminder as ReminderModel

        reminder = self.reminder
        reminder_id = message.headers.get("X-Reminder-ID")
        if reminder_id and (reminder is None or str(reminder.pk) != reminder_id):
            reminder = ReminderModel.objects.select_related("customer", "organisation").get(pk=int(reminder_id))
        if reminder is None:
            raise DeliveryError("call task without its reminder", permanent=True)
        task = write_call_task(reminder, message)
        return Receipt(provider_id=f"task:{task.pk}", response=f"tâche d'appel {task.pk}")


def write_call_task(reminder: Reminder, message: Outgoing) -> Task:
    """Fill the call task the daily run created for this reminder, or create it (collector, else pool)."""
    from relance.dunning.models import Task, TaskKind

    task = Task.objects.filter(reminder=reminder, kind=TaskKind.CALL).order_by("id").first()
    if task is None:
        task = Task(organisation=reminder.organisation, customer=reminder.customer, kind=TaskKind.CALL,
                    reminder=reminder, due_date=reminder.run_date, step_code=reminder.step_code, channel="call",
                    assignee=reminder.customer.collector)  # None: the organisation's shared pool
    # A task someone already reassigned or rescheduled keeps its assignee and date.
    task.title = (message.subject or task.title)[:300]
    task.script = message.body_text
    task.save()
    task.invoices.set([line.invoice_id for line in reminder.lines.all() if not line.dropped])
    return task


class CallChannel(Channel):
    kind = "call"
    needs_contact = "phone"

    def recipient(self, customer: Customer) -> Contact | None:
        """The customer's first valid phone number (billing, then accounting, then main contact)."""
        phones = list(customer.contacts.filter(kind="phone", valid=True).order_by("id"))
        phones.sort(key=lambda c: ROLE_ORDER.get(c.role, 9))
        return phones[0] if phones else None

    def render(self, reminder: Reminder, context: dict) -> Outgoing:
        contact = self.recipient(reminder.customer)
        if contact is None:
            raise DeliveryError(f"{reminder.customer.name} : aucun numéro de téléphone valide", unreachable=True)
        number = contact.value
        try:
            from relance.channels.sms.channel import InvalidPhoneNumber, normalise_number

            number = normalise_number(contact.value, reminder.customer.country)
        except InvalidPhoneNumber:
            pass  # a person dials it; an odd format is still worth a try
        subject, script = _script(reminder, {**context, "contact": {"name": contact.name, "value": number}})
        language = reminder.language if reminder.language in LANGUAGES else "fr"
        history = history_lines(reminder, language)
        header = f"{contact.name + ' – ' if contact.name else ''}{number}"
        body = f"{header}\n\n{script.strip()}\n"
        if history:
            with translation.override(language):
                body += f"\n{HISTORY_TITLE}\n" + "\n".join(history) + "\n"
        headers = {"X-Reminder-ID": str(reminder.pk)} if reminder.pk else {}
        return Outgoing(channel=self.kind, recipient=number, subject=subject, body_text=body, headers=headers)

    def backend(self, reminder: Reminder) -> Backend:
        return CallTaskBackend(reminder)
