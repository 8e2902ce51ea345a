"""The escalation channel: renders the documents of the step's kind (relance.channels.escalation.documents)
and its backend stores them and opens (or fills) the escalation task of the Today inbox.

The files live in MEDIA_ROOT/escalations/<organisation>/<reminder>/; the reminder keeps their names,
SHA-256 and sizes (the evidence of every reminder) and the reminders log serves them from there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import pgettext

from relance.accounts.models import Membership, Role
from relance.channels.base import Backend, Channel, DeliveryError, Outgoing, Receipt
from relance.channels.escalation import KINDS, WRITE_OFF
from relance.channels.escalation.documents import produce
from relance.dunning.models import Task, TaskKind

if TYPE_CHECKING:
    from relance.dunning.models import Reminder
    from relance.ledger.models import Contact, Customer

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def folder(reminder: Reminder) -> Path:
    return Path(settings.MEDIA_ROOT) / "escalations" / str(reminder.organisation_id) / str(reminder.pk)


def stored_paths(reminder: Reminder) -> list[Path]:
    """The documents stored for an escalation reminder, in name order ([] before it was produced)."""
    where = folder(reminder)
    return sorted(p for p in where.iterdir() if p.is_file()) if where.is_dir() else []


def _owner(org_id: int):
    membership = (Membership.objects.filter(organisation_id=org_id, role=Role.OWNER).select_related("user")
                  .order_by("pk").first())
    return membership.user if membership else None


class EscalationBackend(Backend):
    """Stores the documents and writes the escalation task (once: a retry fills the same files and task)."""

    kind = "escalation"

    def __init__(self, reminder: Reminder):
        self.reminder = reminder

    def send(self, message: Outgoing) -> Receipt:
        reminder = self.reminder
        where = folder(reminder)
        try:
            where.mkdir(parents=True, exist_ok=True)
            for attachment in message.attachments:
                (where / _SAFE.sub("-", attachment.name)).write_bytes(attachment.content)
        except OSError as exc:
            raise DeliveryError(f"cannot write {where}: {exc}")
        task = write_escalation_task(reminder, message)
        return Receipt(provider_id=f"escalations/{reminder.organisation_id}/{reminder.pk}",
                       response=f"tâche d'escalade {task.pk}")


@transaction.atomic
def write_escalation_task(reminder: Reminder, message: Outgoing) -> Task:
    """The task of this escalation: for the customer's collector, the owner for a write-off."""
    kind = message.headers.get("X-Escalation-Kind", reminder.template)
    task = Task.objects.select_for_update().filter(reminder=reminder, kind=TaskKind.ESCALATION).order_by("id").first()
    if task is None:
        assignee = _owner(reminder.organisation_id) if kind == WRITE_OFF else reminder.customer.collector
        task = Task(organisation=reminder.organisation, customer=reminder.customer, kind=TaskKind.ESCALATION,
                    reminder=reminder, due_date=reminder.run_date, step_code=reminder.step_code, assignee=assignee)
    task.title = message.subject[:300]
    task.script = message.body_text
    task.outcome_data = {**(task.outcome_data or {}), "escalation": kind,
                         "files": [a.name for a in message.attachments],
                         "amounts": {k: message.headers.get(f"X-Claim-{k}", "") for k in
                                     ("Principal", "Interest", "Indemnity", "Costs", "Total")}}
    task.save()
    task.invoices.set([line.invoice_id for line in reminder.lines.all() if not line.dropped])
    return task


class EscalationChannel(Channel):
    kind = "escalation"
    needs_contact = ""  # nothing is sent to the customer

    def recipient(self, customer: Customer) -> Contact | None:
        return None

    def render(self, reminder: Reminder, context: dict) -> Outgoing:
        kind = reminder.template
        if kind not in KINDS:
            raise DeliveryError(f"étape d'escalade « {reminder.step_code} » : type {kind!r} inconnu ; attendu : "
                                f"{', '.join(KINDS)}", permanent=True)
        invoices = [line.invoice for line in reminder.lines.select_related("invoice") if not line.dropped]
        produced = produce(kind, reminder.organisation, reminder.customer, invoices, context["today"])
        claim = produced.claim
        with translation.override(reminder.organisation.language or "fr"):
            recipient = str(KINDS[produced.kind])
            files = "\n".join(f"- {a.name}" for a in produced.attachments)
            body = f"{produced.text}\n{pgettext('escalation', 'Documents:')}\n{files}\n"
        headers = {
            "X-Reminder-ID": str(reminder.pk), "X-Escalation-Kind": produced.kind,
            "X-Claim-Principal": str(claim.principal), "X-Claim-Interest": str(claim.interest),
            "X-Claim-Indemnity": str(claim.indemnity), "X-Claim-Costs": str(claim.costs),
            "X-Claim-Total": str(claim.total),
        }
        return Outgoing(channel=self.kind, recipient=recipient, subject=produced.title, body_text=body,
                        attachments=produced.attachments, headers=headers)

    def backend(self, reminder: Reminder) -> Backend:
        return EscalationBackend(reminder)
