"""relance approve --org SLUG [--approve ID ...] [--skip ID ...] [--all]: reminders waiting for approval."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from relance.accounts.permissions import WRITE, require
from relance.dunning import queries
from relance.dunning.actions import DunningError, approve_reminder, skip_reminder
from relance.dunning.management.commands._common import get_org, get_user, money
from relance.dunning.models import Reminder


class Command(BaseCommand):
    help = "List the reminders waiting for approval (formal notices...), approve or skip them."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--approve", type=int, nargs="+", default=[], metavar="ID")
        parser.add_argument("--skip", type=int, nargs="+", default=[], metavar="ID")
        parser.add_argument("--all", action="store_true", help="approve every reminder waiting")
        parser.add_argument("--user", default=None,
                            help="who approves or skips (a member of the organisation); required to act")

    def create_parser(self, prog_name, subcommand, **kwargs):
        # Kept to report a missing approver as the usage error it is (exit 2), not as a failure.
        self.parser = super().create_parser(prog_name, subcommand, **kwargs)
        return self.parser

    def handle(self, *args, **o):
        acting = o["approve"] or o["skip"] or o["all"]
        if acting and not o["user"]:
            self.parser.error("--approve, --skip and --all need --user NAME: the approver is recorded")
        org = get_org(o["org"])
        waiting = list(queries.list_awaiting_approval(org))
        if not acting:
            for r in waiting:
                numbers = ",".join(line.invoice.number for line in r.lines.all())
                self.stdout.write(f"{r.pk}\t{r.run_date}\t{r.customer.external_id}\t{r.channel}\t{r.step_code}\t"
                                  f"{money(r.total_due)}\t{numbers}")
                if r.error:  # e.g. a rate missing from the tables: what the approver must check
                    self.stdout.write(f"\t⚠ {r.error}")
            if not waiting:
                self.stdout.write("nothing waiting for approval")
            return
        user = get_user(org, o["user"])
        require(user, org, WRITE)  # refused even when nothing waits: the approver must be able to approve
        approve = [r.pk for r in waiting] if o["all"] else o["approve"]
        try:
            for pk, verb in [(pk, approve_reminder) for pk in approve] + [(pk, skip_reminder) for pk in o["skip"]]:
                reminder = Reminder.objects.filter(organisation=org, pk=pk).first()
                if reminder is None:
                    raise CommandError(f"reminder {pk}: no such reminder in {org.slug}")
                verb(reminder, user)
                self.stdout.write(f"reminder {pk}: {'approved' if verb is approve_reminder else 'skipped'}")
        except DunningError as exc:
            raise CommandError(str(exc))
