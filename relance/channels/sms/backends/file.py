"""Writes each SMS as a JSON file in a folder (development and demo): `file:///path/to/folder`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from relance.channels.base import Backend, DeliveryError, Outgoing, Receipt
from relance.channels.registry import ConfigurationError
from relance.channels.sms.segments import count


def sms_record(message: Outgoing) -> dict:
    info = count(message.body_text)
    return {"to": message.recipient, "from": message.sender, "text": message.body_text,
            "encoding": info.encoding, "segments": info.segments}


class FileBackend(Backend):
    kind = "sms"

    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def from_url(cls, url: str) -> FileBackend:
        path = unquote(urlsplit(url).path)
        if not path:
            raise ConfigurationError(f"SMS_URL={url!r}: file:///absolute/folder expected")
        return cls(Path(path))

    def send(self, message: Outgoing) -> Receipt:
        if not message.recipient:
            raise DeliveryError("SMS without a recipient number", permanent=True)
        now = datetime.now(UTC)
        name = f"{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}.json"
        record = {**sms_record(message), "written_at": now.isoformat()}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / name).write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        except OSError as exc:
            raise DeliveryError(f"cannot write {self.folder / name}: {exc}", permanent=False)
        return Receipt(provider_id=name, response=str(self.folder / name))
