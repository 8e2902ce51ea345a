"""relance interest --org SLUG --invoice NUMBER [--as-of D] [--json]: how the late-payment claim is computed."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from relance.dunning.interest import get_invoice_claim
from relance.dunning.management.commands._common import get_org, parse_date
from relance.dunning.queries import org_today
from relance.ledger.models import Invoice


class Command(BaseCommand):
    help = "Late-payment interest of an invoice on the open balance of each day: periods, interest, indemnity."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--invoice", required=True, help="invoice number")
        parser.add_argument("--as-of", default=None, help="compute up to this day included (YYYY-MM-DD), default today")
        parser.add_argument("--json", action="store_true", help="print JSON (amounts as strings)")

    def handle(self, *args, **o):
        org = get_org(o["org"])
        invoice = Invoice.objects.filter(organisation=org, number=o["invoice"]).select_related(
            "customer__organisation", "source_import").first()
        if invoice is None:
            raise CommandError(f"--invoice {o['invoice']!r}: pas de facture de ce numéro dans {org.slug}")
        as_of = parse_date(o["as_of"], "--as-of") if o["as_of"] else org_today(org)
        claim = get_invoice_claim(invoice, as_of)
        if o["json"]:
            self.stdout.write(json.dumps(claim.as_json(), ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"Facture {invoice.number} ({invoice.customer.name}), total {invoice.total:.2f} "
                          f"{invoice.currency}, échéance {invoice.due_date}, calcul au {as_of}")
        self.stdout.write(f"Fondement : {claim.interest.basis}")
        if not claim.interest.periods:
            self.stdout.write("Aucun intérêt de retard à cette date.")
        else:
            self.stdout.write(f"{'du':<10}  {'au':<10}  {'jours':>5}  {'base':>12}  {'taux %':>7}  {'intérêts':>10}")
            for p in claim.interest.periods:
                flag = "  (taux estimé)" if p.estimated else ""
                self.stdout.write(f"{p.start}  {p.end}  {p.days:>5}  {p.base:>12.2f}  {p.rate:>7.2f}  "
                                  f"{p.amount:>10.2f}{flag}")
        self.stdout.write(f"Principal restant dû : {claim.principal:.2f}")
        self.stdout.write(f"Intérêts : {claim.interest.amount:.2f}")
        self.stdout.write(f"Indemnité forfaitaire : {claim.indemnity:.2f}")
        self.stdout.write(f"Total réclamé : {claim.total:.2f}")
