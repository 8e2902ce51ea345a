"""Letters as files: `file:///folder` writes <folder>/<YYYY-MM-DD>/<name>.pdf and <name>.json.

The JSON receipt is the registered-mail record: a person (or `relance letters register`) adds the
tracking number and the acknowledgement date, and `status()` reads them back.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from relance.channels.base import DeliveryError, Outgoing, Receipt
from relance.channels.letter.backends import STATES, RegisteredMailBackend, RegisteredStatus
from relance.channels.registry import ConfigurationError

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FileBackend(RegisteredMailBackend):
    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def from_url(cls, url: str) -> FileBackend:
        path = unquote(urlsplit(url).path)
        if not path:
            raise ConfigurationError(f"LETTER_URL={url!r}: file:///absolute/folder expected")
        return cls(Path(path))

    def _path(self, provider_id: str) -> Path:
        path = (self.folder / provider_id).resolve()
        if not path.is_relative_to(self.folder.resolve()):
            raise DeliveryError(f"letter id outside the letters folder: {provider_id!r}", permanent=True)
        return path

    def send(self, message: Outgoing) -> Receipt:
        pdfs = [a for a in message.attachments if a.mimetype == "application/pdf"]
        if not pdfs:
            raise DeliveryError("letter without its PDF", permanent=True)
        pdf = pdfs[0]
        now = datetime.now(UTC)
        name = _SAFE.sub("-", Path(pdf.name).stem).strip("-") or "letter"
        provider_id = f"{now:%Y-%m-%d}/{name}.pdf"
        path = self._path(provider_id)
        receipt = {
            "recipient": message.recipient.split("\n"), "subject": message.subject,
            "registered": message.headers.get("X-Registered") == "1",
            "pdf": path.name, "sha256": pdf.sha256, "size": len(pdf.content),
            "written_at": now.isoformat(), "state": "submitted", "number": "", "acknowledged_on": None,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pdf.content)
            path.with_suffix(".json").write_text(json.dumps(receipt, ensure_ascii=False, indent=2), encoding="utf-8")
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc}", permanent=False)
        return Receipt(provider_id=provider_id, response=str(path))

    def status(self, provider_id: str) -> RegisteredStatus:
        path = self._path(provider_id).with_suffix(".json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return RegisteredStatus("unknown", detail=f"no receipt {path}")
        except ValueError as exc:
            return RegisteredStatus("unknown", detail=f"{path}: not JSON ({exc})")
        state = data.get("state") if data.get("state") in STATES else "unknown"
        ack = data.get("acknowledged_on")
        try:
            acknowledged = date.fromisoformat(ack) if ack else None
        except ValueError:
            return RegisteredStatus("unknown", detail=f"{path}: acknowledged_on is not a date: {ack!r}")
        if acknowledged and state in ("submitted", "posted"):
            state = "delivered"
        return RegisteredStatus(state, data.get("number") or "", acknowledged)

    def record(self, provider_id: str, number: str, acknowledged_on: date | None) -> None:
        """Write the tracking number and acknowledgement date into the receipt (kept with the PDF)."""
        path = self._path(provider_id).with_suffix(".json")
        if not path.exists():
            return
        data = json.loads(path.read_text(encoding="utf-8"))
        data["number"] = number
        data["state"] = "delivered" if acknowledged_on else "posted"
        data["acknowledged_on"] = acknowledged_on.isoformat() if acknowledged_on else None
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
