"""relance reminders unknown|resolve: reminders in doubt, with the evidence a person needs to decide.

A reminder is `unknown` when it was handed to the provider and no answer was recorded (the worker
died, the connection dropped): sending it again could send it twice, so a person decides.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import pgettext_lazy

from relance.accounts.models import Organisation
from relance.channels.delivery import resolve_unknown
from relance.dunning.management.commands._common import get_org, get_user, money
from relance.dunning.models import Reminder, ReminderState

BODY_LINES = 5
# The listing's words (English source, French catalogue), in the instance's language.
LABELS = {
    "recipient": pgettext_lazy("unknown reminders", "recipient"),
    "subject": pgettext_lazy("unknown reminders", "subject"),
    "body": pgettext_lazy("unknown reminders", "start of the message"),
    "message_id": pgettext_lazy("unknown reminders", "Message-ID"),
    "provider": pgettext_lazy("unknown reminders", "provider reply"),
    "attempts": pgettext_lazy("unknown reminders", "attempts"),
    "error": pgettext_lazy("unknown reminders", "last error"),
    "handed_over_at": pgettext_lazy("unknown reminders", "handed over"),
    "none": pgettext_lazy("unknown reminders", "no reminder in state unknown"),
    "sent": pgettext_lazy("unknown reminders", "marked sent"),
    "not_sent": pgettext_lazy("unknown reminders", "back in the sending queue"),
    "by": pgettext_lazy("unknown reminders", "by"),
}


def list_unknown(org: Organisation) -> list[Reminder]:
    return list(
        Reminder.objects.filter(organisation=org, state=ReminderState.UNKNOWN)
        .select_related("customer").prefetch_related("lines__invoice").order_by("handed_over_at", "pk")
    )


def evidence(reminder: Reminder, org: Organisation) -> dict:
    """What was kept of the attempt: the stored rendering, the ids, the provider's words, when."""
    handed = reminder.handed_over_at
    body = [line for line in reminder.body_text.splitlines() if line.strip()]
    return {
        "id": reminder.pk,
        "run_date": reminder.run_date.isoformat(),
        "channel": reminder.channel,
        "customer": reminder.customer.external_id,
        "customer_name": reminder.customer.name,
        "invoices": [line.invoice.number for line in reminder.lines.all() if not line.dropped],
        "total_due": money(reminder.total_due),
        "recipient": reminder.recipient,
        "subject": reminder.subject,
        "body_start": body[:BODY_LINES],
        "message_id": reminder.message_id,
        "provider_id": reminder.provider_id,
        "provider_response": reminder.provider_response,
        "attempts": reminder.attempts,
        "error": reminder.error,
        # In the organisation's time zone: the moment to look for in the provider's logs.
        "handed_over_at": handed.astimezone(ZoneInfo(org.time_zone)).isoformat() if handed else None,
    }


class Command(BaseCommand):
    help = "List the reminders whose sending is in doubt (state unknown) with their evidence, or resolve one."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        unknown = sub.add_parser("unknown", help="the reminders in state unknown, with what was kept of each")
        unknown.add_argument("--org", required=True)
        unknown.add_argument("--json", action="store_true")
        resolve = sub.add_parser("resolve", help="say whether an unknown reminder reached the customer")
        resolve.add_argument("id", type=int, metavar="ID")
        outcome = resolve.add_mutually_exclusive_group(required=True)
        outcome.add_argument("--sent", dest="was_sent", action="store_true", default=None,
                             help="it did reach the customer: mark it sent")
        outcome.add_argument("--not-sent", dest="was_sent", action="store_false",
                             help="it did not: put it back in the sending queue")
        resolve.add_argument("--user", default=None, help="who decided (a member of the organisation)")

    def handle(self, *args, **o):
        with translation.override(settings.LANGUAGE_CODE):
            self.labels = {key: str(text) for key, text in LABELS.items()}
        if o["action"] == "unknown":
            self._unknown(get_org(o["org"]), o["json"])
        else:
            self._resolve(o["id"], o["was_sent"], o["user"])

    def _unknown(self, org: Organisation, as_json: bool) -> None:
        rows = [evidence(r, org) for r in list_unknown(org)]
        if as_json:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write(self.labels["none"])
        for row in rows:
            self._print(row)

    def _print(self, row: dict) -> None:
        t = self.labels
        self.stdout.write(f"#{row['id']}  {row['run_date']}  {row['channel']}  {row['customer']} "
                          f"{row['customer_name']}  {row['total_due']}  {', '.join(row['invoices'])}")
        provider = " ".join(filter(None, [row["provider_id"], row["provider_response"]])) or "-"
        for label, value in [
            (t["recipient"], row["recipient"]), (t["subject"], row["subject"]),
            (t["message_id"], row["message_id"] or "-"), (t["provider"], provider),
            (t["attempts"], row["attempts"]), (t["error"], row["error"] or "-"),
            (t["handed_over_at"], row["handed_over_at"] or "-"),
        ]:
            self.stdout.write(f"  {label} : {value}")
        self.stdout.write(f"  {t['body']} :")
        for line in row["body_start"]:
            self.stdout.write(f"    | {line}")
        self.stdout.write("")

    def _resolve(self, pk: int, was_sent: bool, username: str | None) -> None:
        reminder = Reminder.objects.select_related("organisation").filter(pk=pk).first()
        if reminder is None:
            raise CommandError(f"reminder {pk}: no such reminder")
        user = get_user(reminder.organisation, username)
        try:
            resolve_unknown(reminder, was_sent, user=user)
        except ValueError as exc:
            raise CommandError(str(exc))
        who = f" ({self.labels['by']} {user.username})" if user else ""
        self.stdout.write(f"reminder {pk}: {self.labels['sent' if was_sent else 'not_sent']}{who}")
