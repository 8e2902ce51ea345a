"""relance serve [--host H] [--port P]: the web app."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web app (default http://127.0.0.1:8000)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **o):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Relance: http://{o['host']}:{o['port']}/  (Ctrl-C to stop)")
        # Django's threaded server, static files included, no auto-reload: enough for a
        # team on one machine; a WSGI server (relance.wsgi) for more.
        call_command("runserver", f"{o['host']}:{o['port']}", use_reloader=False, insecure_serving=True)
