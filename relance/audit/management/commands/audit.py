"""relance audit --org SLUG [--customer CODE] [--kind KIND] [--json]: the audit log, newest first."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from relance.audit.log import list_entries
from relance.dunning.management.commands._common import get_customer, get_org


class Command(BaseCommand):
    help = "List an organisation's audit log (newest first), for a customer or a kind of event."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--customer", default=None, help="customer code")
        parser.add_argument("--kind", default="", help="e.g. reminder.sent, promise.recorded")
        parser.add_argument("--limit", type=int, default=100, help="at most this many entries (0: all)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **o):
        org = get_org(o["org"])
        customer = get_customer(org, o["customer"]) if o["customer"] else None
        entries = list_entries(org, kind=o["kind"], customer_id=customer.pk if customer else None)
        if o["limit"]:
            entries = entries[: o["limit"]]
        if o["json"]:
            self.stdout.write(json.dumps([{
                "seq": e.seq, "at": e.at.isoformat(), "kind": e.kind, "actor": e.actor,
                "object": {"type": e.object_type, "id": e.object_id, "label": e.object_label},
                "data": e.data, "hash": e.hash,
            } for e in entries.iterator()], ensure_ascii=False))
            return
        for e in entries.iterator():
            at = timezone.localtime(e.at).strftime("%d/%m/%Y %H:%M:%S")
            self.stdout.write(f"{e.seq:>7}  {at}  {e.kind:<22} {e.actor:<12} {e.object_type} {e.object_label}")
