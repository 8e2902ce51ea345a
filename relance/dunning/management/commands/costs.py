"""relance costs add|list: recovery costs incurred on a customer's debt (claimed beyond the fixed indemnity
on justification, never from a consumer; the escalation documents and the evidence dossier show them)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from relance.dunning import queries
from relance.dunning.actions import DunningError, record_cost
from relance.dunning.management.commands._common import (
    get_customer,
    get_invoice,
    get_org,
    get_user,
    money,
    parse_date,
    parse_money,
)
from relance.dunning.models import CostKind


class Command(BaseCommand):
    help = "Record and list recovery costs (postage, commissaire de justice, court, agency fees)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="record a cost incurred on a customer's debt")
        add.add_argument("--org", required=True)
        add.add_argument("--customer", required=True, help="customer code")
        add.add_argument("--date", required=True, help="the day the cost was incurred (YYYY-MM-DD)")
        add.add_argument("--kind", required=True, choices=CostKind.values)
        add.add_argument("--amount", required=True)
        add.add_argument("--label", default="")
        add.add_argument("--invoice", default=None, help="the invoice it is about (default: the whole debt)")
        add.add_argument("--file", default=None, help="the supporting document (PDF, image)")
        add.add_argument("--user", default=None)
        lst = sub.add_parser("list", help="list the costs recorded")
        lst.add_argument("--org", required=True)
        lst.add_argument("--customer", default=None, help="customer code")
        lst.add_argument("--json", action="store_true")

    def handle(self, *args, **o):
        org = get_org(o["org"])
        if o["action"] == "list":
            return self._list(org, o)
        customer = get_customer(org, o["customer"])
        day, amount = parse_date(o["date"]), parse_money(o["amount"])
        invoice = get_invoice(org, o["invoice"]) if o["invoice"] else None
        document = None
        if o["file"]:
            path = Path(o["file"])
            try:
                document = (path.name, path.read_bytes())
            except OSError as exc:
                raise CommandError(f"--file {o['file']!r}: {exc.strerror or exc}")
        try:
            cost = record_cost(customer, day, o["kind"], amount, o["label"], invoice=invoice, document=document,
                               user=get_user(org, o["user"]))
        except DunningError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"cost {cost.pk} recorded for {customer.external_id}: {money(cost.amount)} {org.currency} "
                          f"({cost.kind}{', ' + cost.document.name if cost.document else ''})")

    def _list(self, org, o) -> None:
        customer = get_customer(org, o["customer"]) if o["customer"] else None
        rows = [{"id": c.pk, "customer": c.customer.external_id, "date": c.date.isoformat(), "kind": c.kind,
                 "amount": money(c.amount), "currency": org.currency, "label": c.label,
                 "invoice": c.invoice.number if c.invoice_id else "", "document": c.document.name or ""}
                for c in queries.list_costs(org, customer)]
        if o["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        for r in rows:
            self.stdout.write("\t".join(str(r[k]) for k in ("id", "customer", "date", "kind", "amount", "invoice",
                                                             "label", "document")))
