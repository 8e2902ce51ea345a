"""relance promise add|list: promises to pay."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from relance.dunning import queries
from relance.dunning.actions import DunningError, record_promise
from relance.dunning.management.commands._common import get_invoice, get_org, get_user, money, parse_date, parse_money


class Command(BaseCommand):
    help = "Record a promise to pay (no reminder until the date + 2 business days), or list them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="record a promise to pay an invoice by a date")
        add.add_argument("--org", required=True)
        add.add_argument("--invoice", required=True, help="invoice number")
        add.add_argument("--date", required=True, help="promised date, YYYY-MM-DD")
        add.add_argument("--amount", default=None, help="promised amount (default: the whole balance)")
        add.add_argument("--user", default=None, help="who recorded it")
        lst = sub.add_parser("list", help="list the open promises (all with --all)")
        lst.add_argument("--org", required=True)
        lst.add_argument("--all", action="store_true")

    def handle(self, *args, **o):
        org = get_org(o["org"])
        if o["action"] == "list":
            for p in queries.list_promises(org, None if o["all"] else "open"):
                self.stdout.write(
                    f"{p.invoice.number}\t{p.invoice.customer.external_id}\t{p.promised_date}\t"
                    f"{money(p.amount) or 'total'}\t{p.state}"
                )
            return
        invoice = get_invoice(org, o["invoice"])
        amount = parse_money(o["amount"]) if o["amount"] else None
        try:
            promise = record_promise(invoice, parse_date(o["date"]), amount, user=get_user(org, o["user"]))
        except DunningError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"promise recorded: {invoice.number} by {promise.promised_date} "
                          f"({money(promise.amount) or 'whole balance'})")
