"""relance match run|review|settings --org SLUG: match incoming payments to invoices, review what is unsure."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from relance.accounts.management.commands.org import get_org
from relance.ledger.balances import AllocationError
from relance.ledger.match_actions import (
    ProposalError,
    assign_payment,
    confirm_proposal,
    reject_proposal,
    set_match_settings,
)
from relance.ledger.match_queries import get_proposal, list_review_queue, list_unapplied_cash
from relance.ledger.models import Invoice, MatchProposal, Payment
from relance.ledger.reconcile import options_of, reconcile, threshold_of
from relance.lib.money import cents, parse_amount


class Command(BaseCommand):
    help = "Match the unallocated payments to open invoices (run), list and decide the unsure ones (review)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="reconcile every unallocated payment; apply the sure matches")
        run.add_argument("--org", required=True)
        review = sub.add_parser("review", help="list the review queue; confirm, reject or assign by hand")
        review.add_argument("--org", required=True)
        acts = review.add_mutually_exclusive_group()
        acts.add_argument("--confirm", type=int, metavar="ID", help="apply proposal ID as it stands")
        acts.add_argument("--reject", type=int, metavar="ID", help="reject proposal ID")
        acts.add_argument("--assign", type=int, metavar="PAYMENT", help="allocate payment PAYMENT by hand")
        review.add_argument("--invoice", metavar="NUMBER", help="with --assign: the invoice it pays")
        review.add_argument("--amount", help="with --assign: how much (default: all that fits)")
        review.add_argument("--user", default=None, help="who decides (a member of the organisation)")
        prefs = sub.add_parser("settings", help="the organisation's threshold and oldest-first choice")
        prefs.add_argument("--org", required=True)
        prefs.add_argument("--threshold", help="0-101: proposals this sure are applied (default: the instance's)")
        prefs.add_argument("--oldest-first", choices=["on", "off"],
                           help="a known payer's odd amount goes to the oldest invoices first (on) or waits (off)")

    def create_parser(self, prog_name, subcommand, **kwargs):
        self.parser = super().create_parser(prog_name, subcommand, **kwargs)
        return self.parser

    def handle(self, *args, **o):
        if o["action"] == "review" and bool(o.get("assign")) != bool(o.get("invoice")):
            self.parser.error("--assign PAYMENT and --invoice NUMBER go together")
        org = get_org(o["org"])
        user = _user(org, o.get("user"))  # settings: the CLI operator (the system)
        try:
            if o["action"] == "settings":
                self._settings(org, o)
            elif o["action"] == "run":
                result = reconcile(org, user=user)
                self.stdout.write(f"{result.applied} payment(s) applied ({result.allocated:.2f}), "
                                  f"{result.queued} waiting for review (threshold {threshold_of(org)})")
            elif o["confirm"]:
                confirm_proposal(_proposal(org, o["confirm"]), user=user)
                self.stdout.write(f"proposal {o['confirm']}: confirmed")
            elif o["reject"]:
                reject_proposal(_proposal(org, o["reject"]), user=user)
                self.stdout.write(f"proposal {o['reject']}: rejected")
            elif o["assign"]:
                self._assign(org, o, user)
            else:
                self._list(org)
        except (ProposalError, AllocationError) as exc:
            raise CommandError(str(exc))

    def _settings(self, org, o):
        threshold, clear = None, False
        if o["threshold"] is not None:
            if o["threshold"] in ("", "default"):
                clear = True
            elif not o["threshold"].isdigit():
                raise CommandError(f"--threshold {o['threshold']!r}: expected a whole number from 0 to 101, or default")
            else:
                threshold = int(o["threshold"])
        oldest = None if o["oldest_first"] is None else o["oldest_first"] == "on"
        if threshold is not None or clear or oldest is not None:
            set_match_settings(org, threshold=threshold, oldest_first=oldest, clear_threshold=clear)
        oldest = "on" if options_of(org).oldest_first else "off"
        self.stdout.write(f"threshold {threshold_of(org)}, oldest first {oldest}")

    def _assign(self, org, o, user):
        payment = Payment.objects.filter(organisation=org, pk=o["assign"]).first()
        if payment is None:
            raise CommandError(f"--assign {o['assign']}: no such payment in {org.slug}")
        invoice = Invoice.objects.filter(organisation=org, number=o["invoice"]).first()
        if invoice is None:
            raise CommandError(f"--invoice {o['invoice']!r}: no such invoice in {org.slug}")
        amount = None
        if o["amount"]:
            try:
                amount = cents(parse_amount(o["amount"]))
            except ValueError as exc:
                raise CommandError(f"--amount {o['amount']!r}: {exc}")
        proposal = assign_payment(payment, invoice, amount, user=user)
        self.stdout.write(f"payment {payment.pk}: {proposal.allocations[-1]['amount']} to {invoice.number}")

    def _list(self, org):
        queue = list_review_queue(org)
        for p in queue:
            pay = p.payment
            lines = ", ".join(f"{number} {amount:.2f}" for number, amount in p.lines) or "-"
            who = p.customer.external_id if p.customer else "?"
            self.stdout.write(f"{p.pk}\t{p.state}\t{p.confidence}\tpayment {pay.pk}\t{pay.date}\t{pay.amount:.2f}\t"
                              f"{who}\t{lines}\t{pay.payer_name}\t{pay.reference}\t{p.reason}")
        if not queue:
            self.stdout.write("nothing waiting for review")
        for customer, amount in list_unapplied_cash(org):
            self.stdout.write(f"credit\t{customer.external_id}\t{customer.name}\t{amount:.2f}")


def _proposal(org, pk: int) -> MatchProposal:
    try:
        return get_proposal(org, pk)
    except MatchProposal.DoesNotExist:
        raise CommandError(f"proposal {pk}: no such proposal in {org.slug}")


def _user(org, username):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, memberships__organisation=org).first()
    if user is None:
        raise CommandError(f"--user {username!r}: not a member of {org.slug}")
    return user
