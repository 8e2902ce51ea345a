"""What every channel and provider backend looks like.

A *channel* (email, sms, letter, call) decides what is sent: the recipient from the
customer's contacts and the rendered message. A *backend* (SMTP server, SMS vendor,
registered-mail provider, a folder of files) carries it. Backends are chosen from a URL
(`EMAIL_URL`, `SMS_URL`, per-organisation overrides) through `relance.channels.registry`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from relance.dunning.models import Reminder
    from relance.ledger.models import Contact, Customer


class DeliveryError(Exception):
    """A send failed. `permanent` failures are not retried (bad address, refused content)."""

    def __init__(self, message: str, permanent: bool = False, response: str = "", uncertain: bool = False,
                 unreachable: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent or unreachable
        self.response = response
        # The customer cannot be reached on this channel (no valid contact, a refused recipient, a
        # message that cannot fit): the engine falls back to the next channel and opens a fix task.
        self.unreachable = unreachable
        # The provider may have accepted the message before the failure (connection lost after the
        # data was sent): the reminder becomes "unknown" and is never re-sent automatically.
        self.uncertain = uncertain


@dataclass
class Attachment:
    name: str
    content: bytes
    mimetype: str = "application/pdf"
    # Set for an inline image the HTML part shows as <img src="cid:...">, e.g. the EPC QR code.
    content_id: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def record(self) -> dict:
        """What the evidence file keeps of an attachment."""
        return {"name": self.name, "sha256": self.sha256, "size": len(self.content), "mimetype": self.mimetype}


@dataclass
class Outgoing:
    """A rendered message, ready for a backend: stored on the Reminder before it is sent."""

    channel: str
    recipient: str
    subject: str = ""
    body_text: str = ""
    body_html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    sender: str = ""
    reply_to: str = ""
    bcc: list[str] = field(default_factory=list)


@dataclass
class Receipt:
    """What the provider answered when it accepted a message."""

    provider_id: str = ""
    response: str = ""
    message_id: str = ""


class Backend:
    """Carries Outgoing messages. Subclasses set `kind` and implement send()."""

    kind: ClassVar[str] = ""

    @classmethod
    def from_url(cls, url: str) -> Backend:
        """Build the backend from its configuration URL (see relance.channels.registry)."""
        raise NotImplementedError

    def open(self) -> None:
        """Open a connection reused for a batch (SMTP); no-op by default."""

    def close(self) -> None:
        """Close the batch connection; no-op by default."""

    def send(self, message: Outgoing) -> Receipt:
        raise NotImplementedError

    def __enter__(self) -> Backend:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Channel:
    """A kind of message. Subclasses set `kind` and implement recipient() and render()."""

    kind: ClassVar[str] = ""
    # Capability flags, as Django's mail backends declare theirs.
    needs_contact: ClassVar[str] = ""  # Contact.kind this channel needs ("email", "phone", "postal")

    def recipient(self, customer: Customer) -> Contact | None:
        """The customer's usable contact for this channel, or None (then the engine falls back)."""
        raise NotImplementedError

    def render(self, reminder: Reminder, context: dict) -> Outgoing:
        raise NotImplementedError

    def backend(self, reminder: Reminder) -> Backend:
        raise NotImplementedError


def edited_text(reminder: Reminder) -> tuple[str, str] | None:
    """The subject and text a person wrote over the template before approval
    (relance.dunning.actions.edit_reminder), or None: the channels send it instead of the template's."""
    if getattr(reminder, "edited_at", None) is None:
        return None
    return reminder.subject, reminder.body_text
