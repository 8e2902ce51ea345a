"""Bounces: delivery status notifications (RFC 3464) read from an IMAP mailbox.

A permanent failure (action "failed", status 5.x.x) for a reminder we sent marks the contact
invalid, records the failure on the reminder and opens a "fix contact" task; the engine then
uses the customer's next channel. Temporary failures ("delayed", 4.x.x) change nothing.

`BOUNCE_IMAP_URL`: `imaps://user:pass@host:993/INBOX` or `imap://user:pass@host/INBOX?starttls=1`.
The envelope sender of our e-mails must point to that mailbox (`return_path` in EMAIL_URL).
"""

from __future__ import annotations

import contextlib
import email
import imaplib
import logging
import os
import re
import ssl
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default as default_policy
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings

from relance.dunning import actions
from relance.dunning.models import Reminder

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"^\s*(?:rfc822\s*;)?\s*<?([^<>\s;]+@[^<>\s;]+)>?\s*$", re.IGNORECASE)


@dataclass
class FailedRecipient:
    address: str
    action: str
    status: str
    diagnostic: str = ""

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")

    def describe(self) -> str:
        return f"{self.status} {self.diagnostic}".strip()


@dataclass
class Bounce:
    recipients: list[FailedRecipient] = field(default_factory=list)
    message_id: str = ""  # of the original message: ours, stored on the Reminder
    reminder_id: int | None = None  # from our X-Relance-Reminder header when the DSN returns it

    @property
    def permanent(self) -> list[FailedRecipient]:
        return [r for r in self.recipients if r.permanent]


def parse_dsn(raw: bytes) -> Bounce | None:
    """The delivery status report in a message, or None when it is not a DSN (a human reply)."""
    msg = email.message_from_bytes(raw, policy=default_policy)
    if msg.get_content_type() != "multipart/report":
        return None
    bounce = Bounce()
    found_status = False
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            found_status = True
            bounce.recipients.extend(_recipients(part))
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"):
            _original(part, bounce)
    return bounce if found_status else None


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):  # the parser split the report into its header blocks
        return payload
    text = payload if isinstance(payload, str) else part.get_payload(decode=True).decode("utf-8", "replace")
    blocks = re.split(r"\r?\n\s*\r?\n", text.strip())
    return [email.message_from_string(b, policy=default_policy) for b in blocks if b.strip()]


def _recipients(part: Message) -> list[FailedRecipient]:
    out = []
    for block in _status_blocks(part)[1:]:  # the first block is about the message, the others per recipient
        final = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        match = _ADDRESS.match(final)
        if not match:
            continue
        out.append(FailedRecipient(
            address=match.group(1).lower(), action=str(block.get("Action", "")).strip().lower(),
            status=str(block.get("Status", "")).strip(),
            diagnostic=" ".join(str(block.get("Diagnostic-Code", "")).split()),
        ))
    return out


def _original(part: Message, bounce: Bounce) -> None:
    if part.get_content_type() in ("message/rfc822", "message/global"):
        payload = part.get_payload()
        headers = payload[0] if isinstance(payload, list) and payload else None
    else:
        raw = part.get_payload(decode=True) or b""
        headers = email.message_from_bytes(raw, policy=default_policy)
    if headers is None:
        return
    bounce.message_id = bounce.message_id or str(headers.get("Message-ID", "")).strip()
    rid = str(headers.get("X-Relance-Reminder", "")).strip()
    if rid.isdigit() and bounce.reminder_id is None:
        bounce.reminder_id = int(rid)


# --- effects ----------------------------------------------------------------------------------


def apply_bounce(bounce: Bounce) -> list:
    """Mark the failed contacts invalid, record the failure on its reminder, open the tasks
    (relance.dunning.actions.record_bounce writes).

    Returns the contacts made invalid. A DSN that matches none of our reminders changes nothing.
    """
    reminder = None
    if bounce.message_id:
        reminder = Reminder.objects.filter(message_id=bounce.message_id).select_related("customer").first()
    if reminder is None and bounce.reminder_id is not None:
        reminder = Reminder.objects.filter(pk=bounce.reminder_id).select_related("customer").first()
    if reminder is None or not bounce.permanent:
        return []
    return actions.record_bounce(reminder, [(f.address, f.status, f.describe()) for f in bounce.permanent])


# --- the mailbox ------------------------------------------------------------------------------


@dataclass
class BounceStats:
    messages: int = 0
    reports: int = 0
    contacts_invalidated: int = 0


def bounce_url() -> str:
    return getattr(settings, "BOUNCE_IMAP_URL", "") or os.environ.get("BOUNCE_IMAP_URL", "")


def fetch_bounces(url: str | None = None, limit: int = 500) -> BounceStats:
    """Read unseen messages, apply the DSNs and mark them seen; other messages stay unread for people."""
    url = url or bounce_url()
    stats = BounceStats()
    if not url:
        return stats
    imap, mailbox = _connect(url)
    try:
        imap.select(mailbox)
        _, data = imap.uid("SEARCH", None, "UNSEEN")
        for uid in (data[0] or b"").split()[:limit]:
            _, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), b"")
            stats.messages += 1
            bounce = parse_dsn(raw)
            if bounce is None:
                continue
            stats.reports += 1
            stats.contacts_invalidated += len(apply_bounce(bounce))
            imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imap.logout()
    return stats


def _connect(url: str) -> tuple[imaplib.IMAP4, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps") or not parts.hostname:
        raise ValueError(f"BOUNCE_IMAP_URL={url!r}: expected imaps://user:pass@host/INBOX")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    context = ssl.create_default_context()
    if scheme == "imaps":
        imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(parts.hostname, parts.port or 993, ssl_context=context, timeout=30)
    else:
        imap = imaplib.IMAP4(parts.hostname, parts.port or 143, timeout=30)
        if query.get("starttls", "0").lower() in {"1", "true", "yes"}:
            imap.starttls(ssl_context=context)
    if parts.username:
        imap.login(unquote(parts.username), unquote(parts.password or ""))
    return imap, unquote(parts.path.lstrip("/")) or "INBOX"
