"""Reads of the audit log page: the entries filtered, a page at a time, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from relance.accounts.models import Organisation
from relance.audit.log import FACTS, list_entries
from relance.audit.models import AuditEntry

OBJECT_TYPES = sorted({*FACTS, "invoice", "organisation"})


@dataclass(frozen=True)
class AuditQuery:
    kind: str = ""
    object_type: str = ""
    label: str = ""

    @classmethod
    def from_params(cls, params) -> AuditQuery:
        object_type = params.get("object", "")
        return cls(kind=params.get("kind", "")[:40], object_type=object_type if object_type in OBJECT_TYPES else "",
                   label=params.get("label", "").strip()[:200])


def list_audit_page(org: Organisation, query: AuditQuery, start: int, size: int) -> list[AuditEntry]:
    """`size` + 1 entries from `start` (one more tells whether a next page exists, without a count)."""
    return list(list_entries(org, kind=query.kind, object_type=query.object_type, label=query.label)
                [start:start + size + 1])


def list_kinds(org: Organisation) -> list[str]:
    """The kinds of event the organisation's log holds (the filter's choices)."""
    return list(AuditEntry.objects.filter(organisation=org).order_by("kind").values_list("kind", flat=True)
                .distinct())


def summary(data: dict, width: int = 300) -> str:
    """The entry's data on one line, `key: value`, empty values left out."""
    parts = [f"{key}: {value}" for key, value in data.items() if value not in (None, "", [], {})]
    text = " · ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"
