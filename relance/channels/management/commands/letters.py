"""relance letters --org SLUG [--date D] --out FILE.pdf        the day's letters in one PDF to print
relance letters register --reminder ID --number N [--ack-date D]  registered-mail number, AR date"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from relance.accounts.models import Organisation
from relance.channels.letter.batch import NoLetters, build_batch, list_letters, register_letter
from relance.dunning.models import Reminder
from relance.dunning.queries import org_today


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}")


class Command(BaseCommand):
    help = "Print batch of the day's letters; record a registered-mail number and acknowledgement date."

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["batch", "register"], default="batch")
        parser.add_argument("--org", help="organisation slug (batch)")
        parser.add_argument("--date", help="day of the letters, YYYY-MM-DD (default: today)")
        parser.add_argument("--out", help="PDF file to write (batch)")
        parser.add_argument("--reminder", type=int, help="reminder id (register)")
        parser.add_argument("--number", help="registered-mail number (register)")
        parser.add_argument("--ack-date", help="acknowledgement of receipt date, YYYY-MM-DD (register)")

    def handle(self, *args, **opts):
        if opts["action"] == "register":
            return self.register(opts)
        return self.batch(opts)

    def batch(self, opts) -> None:
        if not opts["org"] or not opts["out"]:
            raise CommandError("relance letters --org SLUG [--date YYYY-MM-DD] --out FILE.pdf")
        org = Organisation.objects.filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(f"unknown organisation {opts['org']!r}")
        day = _day(opts["date"]) if opts["date"] else org_today(org)
        try:
            pdf = build_batch(org, day)
        except NoLetters as exc:
            raise CommandError(str(exc))
        out = Path(opts["out"])
        out.write_bytes(pdf)
        count = list_letters(org, day).count()
        self.stdout.write(f"{out}: {count} courrier(s) du {day.isoformat()} ({len(pdf)} octets)")

    def register(self, opts) -> None:
        if not opts["reminder"] or not opts["number"]:
            raise CommandError("relance letters register --reminder ID --number N [--ack-date YYYY-MM-DD]")
        reminder = Reminder.objects.filter(pk=opts["reminder"]).first()
        if reminder is None:
            raise CommandError(f"unknown reminder {opts['reminder']}")
        ack = _day(opts["ack_date"]) if opts["ack_date"] else None
        try:
            reminder = register_letter(reminder, opts["number"], ack)
        except ValueError as exc:
            raise CommandError(f"reminder {reminder.pk}: {exc}")
        done = f", AR du {reminder.acknowledged_on.isoformat()}" if reminder.acknowledged_on else ""
        self.stdout.write(f"relance {reminder.pk} ({reminder.customer.name}) : recommandé n° "
                          f"{reminder.registered_number}{done}")
