"""Shared by the e-mail and delivery tests: a real SMTP server (aiosmtpd) and reminders to send.

Import the fixtures into a test module: `from tests.channels.email_support import smtpd  # noqa: F401`.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import date

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "relance", "s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: tuple
    authenticated: bool = False


@dataclass
class Handler:
    """Accepts everything except the addresses in `refuse` (address -> SMTP reply)."""

    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                                          or envelope.content, session.peer, bool(session.authenticated)))
            n = len(self.messages)
        return f"250 2.0.0 Ok: queued as Q{n:05d}"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok)


@dataclass
class SmtpServer:
    controller: Controller
    handler: Handler
    port: int

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def start(handler: Handler, **kwargs) -> SmtpServer:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return SmtpServer(controller, handler, port)


@pytest.fixture
def smtpd():
    server = start(Handler(), authenticator=authenticator, auth_require_tls=False)
    yield server
    server.controller.stop()


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory):
    """A throw-away certificate for 127.0.0.1, made by openssl (the tests' TLS servers use it)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(cert)], capture_output=True,
    )
    if result.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate: {result.stderr.decode()[:200]}")
    return cert, key


def server_tls_context(cert_and_key) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, cert_and_key))
    return context


# --- reminders --------------------------------------------------------------------------------


def make_reminder(org, customer, invoices, template="first_reminder", step="first", channel="email",
                  run_date=date(2026, 7, 10), state="planned", language="fr", **fields):
    """A planned reminder with one line per invoice, as the engine writes it."""
    from relance.dunning.models import Reminder, ReminderLine

    reminder = Reminder.objects.create(
        organisation=org, customer=customer, channel=channel, run_date=run_date, scenario_code="standard",
        step_code=step, template=template, language=language, state=state, **fields,
    )
    for inv in invoices:
        ReminderLine.objects.create(reminder=reminder, invoice=inv, step_code=step, balance=inv.open_balance)
    return reminder
