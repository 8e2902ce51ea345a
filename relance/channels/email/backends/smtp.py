"""SMTP backend: `smtp://user:pass@host:587?starttls=1`, `smtps://user:pass@host:465`.

Query options: `starttls=1`, `timeout=30` (seconds), `verify=0` (accept a self-signed certificate,
for an internal relay), `return_path=bounces@example.com` (envelope sender, where DSNs arrive),
`helo=name`. One connection is opened by open() and reused for a batch, as Django's backend does.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from relance.channels.base import Backend, DeliveryError, Outgoing, Receipt
from relance.channels.email.backends import as_bytes, envelope, message_id, to_mime
from relance.lib.secrets import redact, redact_url

_QUEUED = re.compile(r"queued as\s+(\S+)", re.IGNORECASE)
TRUE = {"1", "true", "yes", "on"}


@dataclass
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = ""
    implicit_tls: bool = False
    starttls: bool = False
    timeout: float = 30.0
    verify: bool = True
    return_path: str = ""
    helo: str | None = None


def parse_url(url: str) -> SmtpConfig:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError(f"EMAIL_URL={redact_url(url)!r}: expected smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError(f"EMAIL_URL={redact_url(url)!r}: no host")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout", "verify", "return_path", "helo"}
    if unknown:
        raise ValueError(f"EMAIL_URL: unknown option {sorted(unknown)[0]!r}")
    starttls = query.get("starttls", "0").lower() in TRUE
    implicit = scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else 587 if starttls else 25)
        timeout = float(query.get("timeout", "30"))
    except ValueError as exc:
        raise ValueError(f"EMAIL_URL: {redact(str(exc), [url])}")
    return SmtpConfig(
        host=parts.hostname, port=port, username=unquote(parts.username or ""),
        password=unquote(parts.password or ""), implicit_tls=implicit, starttls=starttls and not implicit,
        timeout=timeout, verify=query.get("verify", "1").lower() in TRUE,
        return_path=query.get("return_path", ""), helo=query.get("helo") or None,
    )


class SmtpBackend(Backend):
    kind = "smtp"

    def __init__(self, config: SmtpConfig):
        self.config = config
        self.connection: smtplib.SMTP | None = None
        self._lock = threading.RLock()

    @classmethod
    def from_url(cls, url: str) -> SmtpBackend:
        return cls(parse_url(url))

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.config.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def open(self) -> None:
        """Connect, upgrade to TLS, log in. Failures are transient: the server may come back."""
        if self.connection is not None:
            return
        c = self.config
        try:
            if c.implicit_tls:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, local_hostname=c.helo, timeout=c.timeout,
                                                      context=self._ssl_context())
            else:
                conn = smtplib.SMTP(c.host, c.port, local_hostname=c.helo, timeout=c.timeout)
            conn.ehlo_or_helo_if_needed()
            if c.starttls:
                conn.starttls(context=self._ssl_context())
                conn.ehlo()
            if c.username:
                conn.login(c.username, c.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP {c.host}:{c.port} : authentification refusée", response=_reply(exc))
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {c.host}:{c.port} : connexion impossible ({exc})")
        self.connection = conn

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.quit()
        except (OSError, smtplib.SMTPException):
            self.connection.close()
        finally:
            self.connection = None

    def send(self, message: Outgoing) -> Receipt:
        with self._lock:
            single = self.connection is None
            self.open()
            try:
                return self._send(message, retry=not single)
            finally:
                if single:
                    self.close()

    def _send(self, message: Outgoing, retry: bool) -> Receipt:
        sender, recipients = envelope(message, self.config.return_path)
        data = as_bytes(to_mime(message))
        conn = self.connection
        assert conn is not None
        try:
            self._envelope(conn, sender, recipients, message.recipient)
        except smtplib.SMTPServerDisconnected:
            # A reused connection the server closed while idle: nothing was sent yet, reconnect once.
            self.connection = None
            if not retry:
                raise DeliveryError("SMTP : connexion perdue avant l'envoi")
            self.open()
            return self._send(message, retry=False)
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise DeliveryError(f"SMTP : {exc}")
        try:
            code, reply = conn.data(data)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            # The data went out; the server may have queued it before the line dropped.
            self._drop()
            raise DeliveryError(f"SMTP : connexion perdue pendant l'envoi ({exc})", uncertain=True)
        except smtplib.SMTPDataError as exc:
            self._reset()
            raise DeliveryError(f"SMTP : message refusé ({_reply(exc)})", permanent=exc.smtp_code >= 500,
                                response=_reply(exc))
        text = f"{code} {reply.decode('utf-8', 'replace')}"
        found = _QUEUED.search(text)
        return Receipt(provider_id=found.group(1) if found else "", response=text, message_id=message_id(message))

    def _envelope(self, conn: smtplib.SMTP, sender: str, recipients: list[str], main: str) -> None:
        code, reply = conn.mail(sender)
        if code != 250:
            self._reset()
            # The sender is ours, not the customer's: fixable configuration, so retried.
            raise DeliveryError(f"SMTP : expéditeur {sender} refusé ({code} {_text(reply)})",
                                response=f"{code} {_text(reply)}")
        main_addr = recipients[0]
        for rcpt in recipients:
            code, reply = conn.rcpt(rcpt)
            if code not in (250, 251) and rcpt == main_addr:
                self._reset()
                # 5xx: the mailbox does not exist or refuses us; 4xx: greylisting, full mailbox.
                raise DeliveryError(f"SMTP : destinataire {main} refusé ({code} {_text(reply)})",
                                    unreachable=code >= 500, response=f"{code} {_text(reply)}")

    def _reset(self) -> None:
        try:
            if self.connection is not None:
                self.connection.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"
