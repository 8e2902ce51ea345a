"""Prints each message on standard output (development)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from relance.channels.base import Backend, Outgoing, Receipt
from relance.channels.email.backends import message_id, to_mime


class ConsoleBackend(Backend):
    kind = "console"

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> ConsoleBackend:
        return cls()

    def send(self, message: Outgoing) -> Receipt:
        text = to_mime(message).as_string()
        with self._lock:
            self.stream.write(text)
            self.stream.write("\n" + "-" * 79 + "\n")
            self.stream.flush()
        return Receipt(provider_id="", response="console", message_id=message_id(message))
