"""An organisation's whole log as a file, and the one sanctioned removal of its entries.

The log is evidence: an organisation is deleted only after its log was written to an archive under
the data dir (relance.accounts.actions.delete_organisation). The archive is JSON lines: a first line
with the organisation and the chain's head (count, last hash, as the anchor says), then one line per
entry with every stored field, hashes included. `relance verify-log --file ARCHIVE` recomputes it
with no database: each hash, the chain, and its end against the head.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.audit.chain import Row, Verdict, check_anchor, iso, verify
from relance.audit.models import AuditAnchor
from relance.audit.verify import COLUMNS, stream_rows

FORMAT = "relance-audit-log"
VERSION = 1


class ArchiveError(Exception):
    """Not an archive of an audit log (or an unreadable one)."""


def archive_dir() -> Path:
    return Path(settings.DATA_DIR) / "audit-archives"


def export_log(org: Organisation, folder: Path | None = None) -> Path:
    """Write the organisation's whole log to a new archive file and return its path. Call it holding
    the log's lock (audit.log.lock_head) so that no entry is appended meanwhile."""
    folder = Path(folder or archive_dir())
    folder.mkdir(parents=True, exist_ok=True)
    count, last_hash = AuditAnchor.objects.filter(pk=org.pk).values_list("count", "last_hash").first() or (0, "")
    now = timezone.now()
    path = folder / f"{org.slug}-{org.pk}-{now:%Y%m%dT%H%M%S%fZ}.jsonl"
    part = path.with_suffix(".part")
    header = {"format": FORMAT, "version": VERSION, "exported_at": iso(now),
              "organisation": {"id": org.pk, "slug": org.slug, "legal_name": org.legal_name},
              "head": {"count": count, "last_hash": last_hash}}
    with open(part, "w", encoding="utf-8") as out:
        out.write(json.dumps(header, ensure_ascii=False, sort_keys=True) + "\n")
        for row in stream_rows(org.pk):
            line = {name: getattr(row, name) for name in COLUMNS}
            line["at"] = iso(row.at)
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    part.chmod(0o600)  # the entries name customers and amounts
    os.replace(part, path)
    return path


def read_archive(path: Path) -> tuple[dict, Iterator[Row]]:
    """(the header, the entries as rows, streamed)."""
    handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the generator below
    try:
        header = json.loads(handle.readline() or "null")
    except json.JSONDecodeError as exc:
        handle.close()
        raise ArchiveError(f"{path} : première ligne illisible ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        handle.close()
        raise ArchiveError(f"{path} : pas une archive de journal d'audit Relance")

    def rows() -> Iterator[Row]:
        with handle:
            for number, text in enumerate(handle, start=2):
                if not text.strip():
                    continue
                try:
                    values = json.loads(text)
                    values["at"] = datetime.fromisoformat(values["at"])
                    yield Row(**{name: values[name] for name in COLUMNS})
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise ArchiveError(f"{path}, ligne {number} : entrée illisible ({exc})") from exc

    return header, rows()


def verify_archive(path: Path | str, expect: tuple[int, str] | None = None) -> tuple[dict, Verdict]:
    """Recompute the archived chain and compare its end with the head the archive carries."""
    header, rows = read_archive(Path(path))
    verdict = verify(rows, expect)
    head = header.get("head") or {}
    return header, check_anchor(verdict, int(head.get("count") or 0), head.get("last_hash") or "")


def purge_deleted(org_id: int) -> int:
    """Remove the entries of an organisation that no longer exists (deleted in this transaction, its log
    archived first): the only removal the PostgreSQL trigger lets through (audit migration 0002)."""
    if Organisation.objects.filter(pk=org_id).exists():
        raise ValueError(f"organisation {org_id} still exists: its audit log stays")
    with connection.cursor() as cursor:  # below the ORM, whose querysets refuse any delete
        cursor.execute("DELETE FROM audit_auditentry WHERE organisation_id = %s", [org_id])
        return cursor.rowcount
