"""relance run --org SLUG [--date YYYY-MM-DD] [--dry-run] [--json] [--no-send]: the day's dunning run,
then the sending of what it planned (unless --no-send)."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from relance.dunning.actions import DunningError, plan_today
from relance.dunning.management.commands._common import get_org, parse_date
from relance.law.late_payment import missing_rates
from relance.worker import deliver


class Command(BaseCommand):
    help = "Run an organisation's dunning for a date (today in its time zone by default). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--date", default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument("--dry-run", action="store_true", help="say what would be done; write nothing")
        parser.add_argument("--json", action="store_true", help="print the messages as JSON")
        parser.add_argument("--no-send", action="store_true", help="write the reminders but leave sending to later")

    def handle(self, *args, **o):
        org = get_org(o["org"])
        day = parse_date(o["date"]) if o["date"] else None
        try:
            result = plan_today(org, day, dry_run=o["dry_run"])
        except DunningError as exc:
            raise CommandError(str(exc))
        if not result.dry_run and not o["no_send"]:
            # Sending is the channels' job, after the run's commit: queued to the pool when there is one.
            deliver(org)
        if o["json"]:
            self.stdout.write(json.dumps(result.messages, ensure_ascii=False, indent=2))
            return
        per_channel: dict[str, int] = {}
        for m in result.messages:
            per_channel[m["channel"]] = per_channel.get(m["channel"], 0) + 1
        channels = ", ".join(f"{k} {v}" for k, v in sorted(per_channel.items())) or "none"
        verb = "would send" if result.dry_run else "planned"
        self.stdout.write(
            f"{org.slug} {result.run_date}: {verb} {result.reminders} message(s) ({channels}); "
            f"{result.awaiting_approval} awaiting approval; {result.advanced} invoice step(s); "
            f"{result.tasks} task(s); {result.broken_promises} broken promise(s); "
            f"{result.kept_promises} promise(s) kept"
        )
        formal = result.formal_notices
        missing = missing_rates(result.run_date - timedelta(days=1), result.run_date) if formal else []
        if missing:
            # Delivery holds each of them for approval; the run says so at once.
            self.stdout.write(
                f"warning: the rate tables (relance/law/data) have no rate for {', '.join(missing)}: "
                f"{formal} formal notice(s) rest on the last known rate carried forward and wait for approval"
            )
        if not result.dry_run and result.pass_number > 1:
            self.stdout.write(f"(run #{result.pass_number} on this date: only what was new)")
