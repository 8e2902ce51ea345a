"""relance dispute open|close|list: invoices the customer contests (never reminded while open)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from relance.dunning import queries
from relance.dunning.actions import DunningError, close_dispute, open_dispute
from relance.dunning.management.commands._common import get_invoice, get_org, get_user


class Command(BaseCommand):
    help = "Open, close or list disputes."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        opn = sub.add_parser("open", help="the customer contests an invoice")
        opn.add_argument("--org", required=True)
        opn.add_argument("--invoice", required=True)
        opn.add_argument("--reason", required=True)
        opn.add_argument("--user", default=None)
        close = sub.add_parser("close", help="the dispute is settled: reminders resume")
        close.add_argument("--org", required=True)
        close.add_argument("--invoice", required=True)
        close.add_argument("--resolution", default="")
        close.add_argument("--user", default=None)
        lst = sub.add_parser("list", help="list the open disputes (all with --all)")
        lst.add_argument("--org", required=True)
        lst.add_argument("--all", action="store_true")

    def handle(self, *args, **o):
        org = get_org(o["org"])
        if o["action"] == "list":
            for d in queries.list_disputes(org, None if o["all"] else True):
                state = "open" if d.is_open else f"closed {d.closed_at:%Y-%m-%d}"
                self.stdout.write(f"{d.invoice.number}\t{d.invoice.customer.external_id}\t{state}\t{d.reason}")
            return
        invoice = get_invoice(org, o["invoice"])
        user = get_user(org, o["user"])
        try:
            if o["action"] == "open":
                open_dispute(invoice, o["reason"], user=user)
                self.stdout.write(f"dispute open on {invoice.number}: no reminder until it is closed")
            else:
                close_dispute(invoice, o["resolution"], user=user)
                self.stdout.write(f"dispute closed on {invoice.number}: reminders resume")
        except DunningError as exc:
            raise CommandError(str(exc))
