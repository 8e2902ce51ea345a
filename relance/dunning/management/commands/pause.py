"""relance pause --org SLUG --customer ID --until D --reason TEXT: no reminder to a customer for a while."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from relance.dunning.actions import DunningError, pause_customer, resume_customer
from relance.dunning.management.commands._common import get_customer, get_org, get_user, parse_date


class Command(BaseCommand):
    help = "Pause (or with --resume, resume) the reminders of a customer."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--customer", required=True, help="customer code")
        parser.add_argument("--until", default=None, help="last day of the pause, YYYY-MM-DD")
        parser.add_argument("--reason", default="")
        parser.add_argument("--resume", action="store_true", help="end the pause now")
        parser.add_argument("--user", default=None)

    def handle(self, *args, **o):
        org = get_org(o["org"])
        customer = get_customer(org, o["customer"])
        user = get_user(org, o["user"])
        try:
            if o["resume"]:
                resume_customer(customer, user=user)
                self.stdout.write(f"{customer.external_id}: reminders resume")
                return
            if not o["until"] or not o["reason"]:
                raise CommandError("--until and --reason are required (or --resume)")
            pause_customer(customer, parse_date(o["until"], "--until"), o["reason"], user=user)
        except DunningError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"{customer.external_id}: no reminder until {customer.paused_until} included")
