"""relance kpi --org SLUG [--from D --to D] [--json]: the collection KPIs of a period (default: the
last 90 days, today included). Writes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from relance.dunning.management.commands._common import get_org, parse_date
from relance.dunning.queries import org_today
from relance.reports.kpi import WINDOWS, as_json, get_kpis

DEFAULT_DAYS = 90


def _text(value, suffix: str = "") -> str:
    return "—" if value is None else f"{value}{suffix}"


class Command(BaseCommand):
    help = "Collection KPIs over a period: DSO (simple, count-back), payment delay, CEI, overdue share, " \
           "promises kept, and the reminders after which invoices get paid."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--from", dest="start", default=None, help="first day, YYYY-MM-DD (default: 89 days "
                                                                         "before --to)")
        parser.add_argument("--to", dest="end", default=None, help="last day, YYYY-MM-DD (default: today)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **o):
        org = get_org(o["org"])
        today = org_today(org)
        end = parse_date(o["end"], "--to") if o["end"] else today
        start = parse_date(o["start"], "--from") if o["start"] else end - timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            raise CommandError(f"--from {start.isoformat()} --to {end.isoformat()}: the period ends before it starts")
        kpis = get_kpis(org, start, end, today)
        data = as_json(kpis)
        if o["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        w = self.stdout.write
        w(f"{org.slug}: {data['from']} → {data['to']} ({data['days']} days)")
        w(f"  sales                 {data['sales']}")
        w(f"  receivables           {data['receivables_start']} → {data['receivables_end']} "
          f"(not due {data['not_due_end']})")
        w(f"  DSO simple            {_text(data['dso_simple'], ' days')}")
        w(f"  DSO count-back        {_text(data['dso_count_back'], ' days')}")
        w(f"  payment delay         {_text(data['payment_delay_days'], ' days after due date')}")
        w(f"  CEI                   {_text(data['cei'], ' %')}")
        w(f"  overdue share         {_text(data['overdue_share'])}")
        p = data["promises"]
        w(f"  promises kept         {p['kept']} of {p['kept'] + p['broken']} ({_text(p['share_kept'])})")
        if not data["reminders"]:
            return
        # One aligned table; "paid Nd" reads "paid within N days / invoices reminded at least N days ago".
        labels = [f"{r['scenario']}/{r['step']} {r['channel']}" for r in data["reminders"]]
        width = max(len("scenario/step channel"), *map(len, labels))
        w("  reminders:")
        heads = "  ".join(f"{f'paid {d}d':>9}" for d in WINDOWS)
        w(f"    {'scenario/step channel':<{width}}  {'invoices':>8}  {heads}")
        for label, r in zip(labels, data["reminders"], strict=True):
            shares = "  ".join(f"{_share(r[f'paid_{d}d'], r[f'base_{d}d']):>9}" for d in WINDOWS)
            w(f"    {label:<{width}}  {r['invoices']:>8}  {shares}")


def _share(paid: int, base: int) -> str:
    return f"{paid}/{base}" if base else "—"
