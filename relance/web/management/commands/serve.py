"""relance serve [--host H] [--port P]: the web app."""

from __future__ import annotations

import errno
import socket

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.servers.basehttp import get_internal_wsgi_application, run
from django.db import connections

# How far `free_port` looks for a port to suggest.
PORTS_TO_TRY = 50


def port_is_free(host: str, port: int) -> bool:
    """True when a server could listen on (host, port) now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the server will: a port left in TIME_WAIT by a previous run is free to take.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str, after: int) -> int | None:
    """The first free port after `after`, to suggest one that works."""
    for port in range(after + 1, min(after + 1 + PORTS_TO_TRY, 65536)):
        if port_is_free(host, port):
            return port
    return None


def busy_message(host: str, port: int, how: str) -> str:
    """One line: the port is taken, and the command to try instead (`how` formats the port)."""
    other = free_port(host, port)
    hint = how.format(port=other) if other else "choose another port"
    return f"port {port} busy on {host}: {hint}"


class Command(BaseCommand):
    help = "Serve the web app (default http://127.0.0.1:8000)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="0: any free port (the one chosen is printed)")

    def handle(self, *args, **o):
        host, port = o["host"], o["port"]
        if port and not port_is_free(host, port):
            raise CommandError(busy_message(host, port, "relance serve --port {port}"))
        call_command("migrate", interactive=False, verbosity=0)
        connections.close_all()  # the server's threads open their own
        # Django's threaded server, static files included, no auto-reload: enough for a
        # team on one machine; a WSGI server (relance.wsgi) for more.
        handler = StaticFilesHandler(get_internal_wsgi_application())
        try:
            run(host, port, handler, ipv6=":" in host, threading=True,
                on_bind=lambda bound: self._listening(host, bound))
        except OSError as exc:
            # Taken between the check and the bind (the demo builds for a minute in between).
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(busy_message(host, port, "relance serve --port {port}"))
            raise CommandError(f"{host}:{port}: {exc.strerror or exc}")

    def _listening(self, host: str, port: int) -> None:
        # Printed only now that the socket is bound: the URL shown is the one served.
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(f"Relance: http://{shown}:{port}/  (Ctrl-C to stop)")
        self.stdout.flush()
