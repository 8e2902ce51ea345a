"""relance insolvency open|close --org SLUG --customer ID [--date D] [--kind K]: insolvency proceedings."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from relance.dunning.actions import DunningError, close_insolvency, open_insolvency
from relance.dunning.management.commands._common import get_customer, get_org, get_user, parse_date
from relance.ledger.models import InsolvencyKind


class Command(BaseCommand):
    help = ("Record the opening (or the end) of insolvency proceedings (procédure collective): no reminder "
            "for the invoices issued before the judgment, and a task to declare them.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["open", "close"])
        parser.add_argument("--org", required=True)
        parser.add_argument("--customer", required=True, help="customer code")
        parser.add_argument("--date", default=None, help="date of the opening judgment, YYYY-MM-DD (open)")
        parser.add_argument("--kind", default="", choices=["", *InsolvencyKind.values])
        parser.add_argument("--user", default=None)

    def handle(self, *args, **o):
        org = get_org(o["org"])
        customer = get_customer(org, o["customer"])
        user = get_user(org, o["user"])
        try:
            if o["action"] == "close":
                close_insolvency(customer, user=user)
                self.stdout.write(f"{customer.external_id}: proceedings closed, reminders follow the scenario again")
                return
            if not o["date"]:
                raise CommandError("--date is required: the date of the opening judgment")
            task = open_insolvency(customer, parse_date(o["date"]), o["kind"], user=user)
        except DunningError as exc:
            raise CommandError(str(exc))
        self.stdout.write(
            f"{customer.external_id}: insolvency proceedings since {customer.insolvency_date:%Y-%m-%d}; "
            f"no reminder for the {task.invoices.count()} invoice(s) issued before; task #{task.pk} "
            f"\"{task.title}\" due {task.due_date:%Y-%m-%d} (2 months from the judgment: the legal deadline "
            "runs from the BODACC publication)"
        )
