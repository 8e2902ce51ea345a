"""Writes each message as an .eml file in a folder (the demo default): `file:///var/relance/outbox/email`."""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from relance.channels.base import Backend, DeliveryError, Outgoing, Receipt
from relance.channels.email.backends import as_bytes, envelope, message_id, to_mime

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FileBackend(Backend):
    kind = "file"

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    @classmethod
    def from_url(cls, url: str) -> FileBackend:
        parts = urlsplit(url)
        # file:///abs/path, and also file://relative/path as people write it.
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ValueError(f"EMAIL_URL={url!r}: a file:// URL needs a folder, e.g. file:///var/relance/outbox")
        return cls(Path(path))

    def send(self, message: Outgoing) -> Receipt:
        envelope(message)  # the same address checks as SMTP, so the demo fails where production would
        mime = to_mime(message)
        mid = message_id(message)
        stem = _UNSAFE.sub("_", mid.strip("<>")) if mid else uuid.uuid4().hex
        name = f"{datetime.now():%Y%m%d-%H%M%S}-{stem[:120]}.eml"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / name
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(as_bytes(mime))
            os.replace(tmp, path)  # readers never see half a message
        except OSError as exc:
            raise DeliveryError(f"écriture impossible dans {self.directory} : {exc}")
        return Receipt(provider_id=name, response=f"written {path}", message_id=mid)
