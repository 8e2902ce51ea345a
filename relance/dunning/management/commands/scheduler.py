"""relance scheduler: long-running; runs each organisation's daily dunning at its hour, in its time zone.

Cron does the same without a long-running process (one line per organisation, in its time zone):
    CRON_TZ=Europe/Paris
    0 9 * * *  cd /srv/relance && .venv/bin/relance run --org abc >> var/log/dunning.log 2>&1
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.dunning.actions import plan_today
from relance.dunning.models import DunningRun
from relance.worker import deliver

log = logging.getLogger(__name__)


def due_organisations(now: datetime, failed: dict[tuple[int, str], datetime], retry: timedelta) -> list:
    """(organisation, local date) whose run hour has come today and whose run is not done yet."""
    out = []
    for org in Organisation.objects.all().order_by("pk"):
        local = now.astimezone(ZoneInfo(org.time_zone))
        if local.hour < org.run_hour:
            continue
        day = local.date()
        if DunningRun.objects.filter(organisation=org, run_date=day, state=DunningRun.State.DONE).exists():
            continue
        last_failure = failed.get((org.pk, day.isoformat()))
        if last_failure is not None and now - last_failure < retry:
            continue
        out.append((org, day))
    return out


class Command(BaseCommand):
    help = "Run each organisation's dunning daily at its hour (Organisation.run_hour, default 9). SIGTERM stops it."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between checks")
        parser.add_argument("--retry-minutes", type=int, default=15, help="wait before retrying a failed run")
        parser.add_argument("--once", action="store_true", help="check once, run what is due, exit")

    def handle(self, *args, **o):
        stop = threading.Event()

        def on_signal(signum, frame):
            self.stdout.write(f"signal {signum}: finishing the current run, then exiting")
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        if not o["once"]:
            self.stdout.write(f"scheduler started (checks every {o['interval']} s; SIGTERM stops it)")
            self.stdout.flush()
        failed: dict[tuple[int, str], datetime] = {}
        retry = timedelta(minutes=o["retry_minutes"])
        try:
            while not stop.is_set():
                if not connection.in_atomic_block:  # (a test's transaction) - else drop stale connections
                    close_old_connections()
                for org, day in due_organisations(timezone.now(), failed, retry):
                    if stop.is_set():
                        break
                    self._run(org, day, failed)
                if o["once"]:
                    break
                stop.wait(o["interval"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("scheduler stopped")

    def _run(self, org, day, failed) -> None:
        try:
            result = plan_today(org, day)
        except Exception as exc:  # one organisation's failure must not stop the others
            log.exception("dunning run of %s on %s failed", org.slug, day)
            self.stderr.write(f"{org.slug} {day}: run failed: {exc}")
            failed[(org.pk, day.isoformat())] = timezone.now()
            return
        failed.pop((org.pk, day.isoformat()), None)
        self.stdout.write(f"{org.slug} {day}: {result.reminders} message(s), {result.tasks} task(s)")
        try:
            deliver(org)
        except Exception as exc:  # the run is done and committed: the next sending retries what is left
            log.exception("delivery for %s on %s failed", org.slug, day)
            self.stderr.write(f"{org.slug} {day}: sending failed: {exc}")
