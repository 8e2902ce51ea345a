"""Prints each SMS on standard output (development): `console:`."""

from __future__ import annotations

import sys
import uuid
from typing import TextIO

from relance.channels.base import Backend, Outgoing, Receipt
from relance.channels.sms.backends.file import sms_record


class ConsoleBackend(Backend):
    kind = "sms"

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream

    @classmethod
    def from_url(cls, url: str) -> ConsoleBackend:
        return cls()

    def send(self, message: Outgoing) -> Receipt:
        record = sms_record(message)
        stream = self.stream or sys.stdout
        stream.write(f"SMS to {record['to']} ({record['segments']} x {record['encoding']}):\n{record['text']}\n\n")
        stream.flush()
        return Receipt(provider_id=f"console-{uuid.uuid4().hex[:12]}")
