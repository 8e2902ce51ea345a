"""relance forecast --org SLUG --days 30 [--json]: the messages of the coming days (writes nothing)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from relance.dunning.actions import DunningError, forecast
from relance.dunning.management.commands._common import get_org, parse_date
from relance.dunning.run import summarise
from relance.dunning.snapshot import load_customers


class Command(BaseCommand):
    help = "Forecast the messages per day and channel, assuming nothing gets paid."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--date", default=None, help="first day (default: today)")
        parser.add_argument("--json", action="store_true", help="the list of messages per day, as JSON")

    def handle(self, *args, **o):
        org = get_org(o["org"])
        if not 1 <= o["days"] <= 366:
            raise CommandError(f"--days {o['days']}: expected 1 to 366")
        start = parse_date(o["date"]) if o["date"] else None
        try:
            days = forecast(org, o["days"], start)
        except DunningError as exc:
            raise CommandError(str(exc))
        ids = {m.customer_id for day in days for m in day.messages}
        customers = load_customers(org, ids)
        if o["json"]:
            out = [
                {"date": day.day.isoformat(), "counts": day.by_channel(), "messages": summarise(day, customers)}
                for day in days
            ]
            self.stdout.write(json.dumps(out, ensure_ascii=False, indent=2))
            return
        channels = ["email", "sms", "letter", "call"]
        self.stdout.write("date        " + "".join(f"{c:>8}" for c in channels) + "   tasks")
        for day in days:
            counts = day.by_channel()
            row = "".join(f"{counts.get(c, 0):>8}" for c in channels)
            self.stdout.write(f"{day.day.isoformat()}  {row}{len(day.tasks):>8}")
