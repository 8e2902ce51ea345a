"""Verify an organisation's audit log from the database: stream the entries, check the anchor."""

from __future__ import annotations

from collections.abc import Iterator

from relance.accounts.models import Organisation
from relance.audit.chain import Row, Verdict, check_anchor, verify
from relance.audit.models import AuditAnchor, AuditEntry

COLUMNS = ["organisation_id", "seq", "at", "kind", "actor", "actor_id", "object_type", "object_id",
           "object_label", "customer_id", "data_json", "prev_hash", "hash"]
CHUNK = 20000


def stream_rows(org_id: int, chunk: int = CHUNK) -> Iterator[Row]:
    """The entries in seq order, a page at a time by key (flat memory on either database)."""
    last = 0
    while True:
        page = list(AuditEntry.objects.filter(organisation_id=org_id, seq__gt=last).order_by("seq")
                    .values_list(*COLUMNS)[:chunk])
        for values in page:
            yield Row(*values)
        if len(page) < chunk:
            return
        last = page[-1][1]


def verify_org(org: Organisation, expect: tuple[int, str] | None = None) -> Verdict:
    """Recompute the organisation's chain and compare its end with the anchor."""
    verdict = verify(stream_rows(org.pk), expect)
    # The anchor is read after the walk: appends made meanwhile moved it past the entries walked.
    anchor = AuditAnchor.objects.filter(pk=org.pk).values_list("count", "last_hash").first() or (0, "")
    if anchor[0] > verdict.count and verdict.problem is None:
        walked = AuditEntry.objects.filter(organisation_id=org.pk, seq=verdict.count + 1).exists()
        if walked:  # entries appended since the walk ended: the chain walked is intact up to there
            return verdict
    return check_anchor(verdict, *anchor)
