"""`relance send [--org SLUG] [--limit N] [--loop]`: send the reminders that are due, then read bounces."""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand

from relance.accounts.management.commands.org import get_org
from relance.channels.delivery import deliver_pending
from relance.channels.email.bounces import bounce_url, fetch_bounces


class Command(BaseCommand):
    help = "Send the reminders that are due (planned, or failed and due for a retry), then read bounces."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="only this organisation (slug)")
        parser.add_argument("--limit", type=int, help="send at most N reminders")
        parser.add_argument("--loop", action="store_true", help="keep running; stops cleanly on SIGTERM")
        parser.add_argument("--interval", type=float, default=30.0, help="seconds between rounds with --loop")
        parser.add_argument("--no-bounces", action="store_true", help="do not read BOUNCE_IMAP_URL")

    def handle(self, *args, org=None, limit=None, loop=False, interval=30.0, no_bounces=False, **options):
        organisation = None
        if org:
            organisation = get_org(org)
        self.stopping = False
        if loop:
            # As healthchecks' sendalerts: finish the message in hand, then exit.
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        while True:
            stats = deliver_pending(organisation, limit=limit)
            line = " ".join(f"{k}={v}" for k, v in stats.as_dict().items() if v)
            if line or not loop:
                self.stdout.write(line or "nothing to send")
            if not no_bounces and bounce_url():
                b = fetch_bounces()
                if b.reports:
                    self.stdout.write(f"bounces: {b.reports} reports, {b.contacts_invalidated} contacts invalidated")
            if not loop or self.stopping:
                return
            deadline = time.monotonic() + interval
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.5)
            if self.stopping:
                return

    def _stop(self, signum, frame):
        self.stopping = True
