"""Letter backends. A letter is a PDF; a *registered* letter also has a tracking number and an
acknowledgement of receipt, which an electronic registered-mail provider (LRE/LRAR online: AR24,
Maileva, Merci Facteur...) reports through `status()`. The shipped `file` backend writes the PDF
and a JSON receipt that a person completes (or `relance letters register` fills in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from relance.channels.base import Backend, Outgoing, Receipt


@dataclass
class RegisteredStatus:
    """Where a registered letter is: submitted, posted, delivered (acknowledged), refused, returned."""

    state: str
    number: str = ""
    acknowledged_on: date | None = None
    detail: str = ""


STATES = ("submitted", "posted", "delivered", "refused", "returned", "unknown")


class RegisteredMailBackend(Backend):
    """Carries letters, registered or not. `send` hands the PDF over; `status` asks where it is."""

    kind = "letter"

    def send(self, message: Outgoing) -> Receipt:
        raise NotImplementedError

    def status(self, provider_id: str) -> RegisteredStatus:
        raise NotImplementedError
