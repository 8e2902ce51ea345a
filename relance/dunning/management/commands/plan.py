"""relance plan add|list|cancel: payment plans (instalments with dates and amounts)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from relance.dunning import queries
from relance.dunning.actions import DunningError, add_payment_plan, cancel_payment_plan
from relance.dunning.management.commands._common import (
    get_customer,
    get_invoice,
    get_org,
    get_user,
    money,
    parse_date,
    parse_money,
)
from relance.dunning.models import PaymentPlan


class Command(BaseCommand):
    help = "Agree a payment plan: the invoices are no longer reminded, the instalments are."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="a plan for some invoices of a customer")
        add.add_argument("--org", required=True)
        add.add_argument("--customer", required=True, help="customer code")
        add.add_argument("--invoice", action="append", required=True, help="invoice number (repeat for several)")
        add.add_argument(
            "--instalment", action="append", required=True, metavar="DATE:AMOUNT",
            help="e.g. 2026-07-15:400.00 (repeat; the amounts add up to the invoices' balance)",
        )
        add.add_argument("--note", default="")
        add.add_argument("--user", default=None)
        lst = sub.add_parser("list", help="list the plans in progress (all with --all)")
        lst.add_argument("--org", required=True)
        lst.add_argument("--all", action="store_true")
        cancel = sub.add_parser("cancel", help="end a plan: its invoices go back to their scenario")
        cancel.add_argument("--org", required=True)
        cancel.add_argument("--id", type=int, required=True)

    def handle(self, *args, **o):
        org = get_org(o["org"])
        try:
            getattr(self, f"_{o['action']}")(org, o)
        except DunningError as exc:
            raise CommandError(str(exc))

    def _add(self, org, o):
        customer = get_customer(org, o["customer"])
        invoices = [get_invoice(org, number) for number in o["invoice"]]
        instalments = []
        for n, text in enumerate(o["instalment"], start=1):
            when, sep, amount = text.partition(":")
            if not sep:
                raise CommandError(f"--instalment {text!r} (no. {n}): expected DATE:AMOUNT")
            option = f"--instalment no. {n}"
            instalments.append((parse_date(when, option), parse_money(amount, option)))
        plan = add_payment_plan(customer, invoices, instalments, note=o["note"], user=get_user(org, o["user"]))
        self.stdout.write(f"payment plan {plan.pk} for {customer.external_id}: {len(instalments)} instalment(s)")

    def _list(self, org, o):
        for p in queries.list_plans(org, None if o["all"] else PaymentPlan.State.ACTIVE):
            numbers = ",".join(sorted(i.number for i in p.invoices.all()))
            parts = " ".join(f"{i.due_date}:{money(i.amount)}" for i in p.instalments.all())
            self.stdout.write(f"{p.pk}\t{p.customer.external_id}\t{p.state}\t{numbers}\t{parts}")

    def _cancel(self, org, o):
        plan = PaymentPlan.objects.filter(organisation=org, pk=o["id"]).first()
        if plan is None:
            raise CommandError(f"--id {o['id']}: no such payment plan in {org.slug}")
        cancel_payment_plan(plan)
        self.stdout.write(f"payment plan {plan.pk} cancelled: its invoices are reminded again")
