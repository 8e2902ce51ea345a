"""relance worker: a Celery worker that sends reminders (needs CELERY_BROKER_URL)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a Celery worker for the sending pool (CELERY_BROKER_URL must be set)."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=2)
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, **o):
        if not settings.CELERY_BROKER_URL:
            raise CommandError("CELERY_BROKER_URL is not set: reminders are sent in-process (relance send)")
        from relance.worker import app

        app.worker_main(["worker", f"--concurrency={o['concurrency']}", f"--loglevel={o['loglevel']}"])
