"""The hash chain, pure: the canonical form of an entry, its hash, and a streaming verifier.

hash = sha256(canonical JSON of (organisation, seq, at, kind, actor, object, customer, prev_hash),
a newline, the canonical JSON of the data); canonical = sorted keys, no spaces, UTF-8,
Decimal/date/datetime as ISO strings. The data's text is stored as hashed (AuditEntry.data_json).
The first entry's prev_hash is GENESIS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

GENESIS = "0" * 64


def plain(value):
    """`value` as JSON keeps it exactly: Decimal, dates, floats as strings; tuples and sets as lists;
    no NUL (PostgreSQL's jsonb refuses it)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, str):
        return value.replace("\x00", "")
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (Decimal, date, float)):
        return str(value) if not isinstance(value, date) else value.isoformat()
    return str(value)


def iso(at: datetime) -> str:
    """The moment as hashed: ISO 8601 in UTC, microseconds kept (as both databases store it)."""
    return at.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Row:
    """An entry as stored (the verifier's input)."""

    organisation_id: int
    seq: int
    at: datetime
    kind: str
    actor: str
    actor_id: int | None
    object_type: str
    object_id: str
    object_label: str
    customer_id: int | None
    data_json: str
    prev_hash: str
    hash: str = ""


def canonical(row: Row) -> bytes:
    body = {
        "org": row.organisation_id, "seq": row.seq, "at": iso(row.at), "kind": row.kind,
        "actor": row.actor, "actor_id": row.actor_id,
        "object": {"type": row.object_type, "id": row.object_id, "label": row.object_label},
        "customer": row.customer_id, "prev": row.prev_hash,
    }
    head = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{head}\n{row.data_json}".encode()


def data_text(data: dict) -> str:
    """The canonical JSON text of an entry's data (what is stored and hashed)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(row: Row) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


@dataclass
class Problem:
    seq: int
    kind: str
    object: str
    reason: str

    def line(self) -> str:
        return f"entrée {self.seq} ({self.kind or '?'}, {self.object or '-'}) : {self.reason}"


@dataclass
class Verdict:
    count: int = 0
    last_hash: str = GENESIS
    problem: Problem | None = None
    anchor_count: int | None = None
    anchor_hash: str = ""
    last_kind: str = ""
    last_name: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None


def _name(row: Row) -> str:
    return f"{row.object_type} {row.object_label or row.object_id}".strip()


def verify(rows: Iterable[Row], expect: tuple[int, str] | None = None) -> Verdict:
    """Walk the entries in seq order and stop at the first bad one.

    Checked, in order, for each entry: its seq follows the previous one (else entries were removed),
    its prev_hash is the previous entry's hash (else entries were removed or reordered), its hash
    is that of its content (else it was edited). `expect`: (seq, hash) noted outside the database
    earlier, which entry seq must still carry. The tail is checked against the anchor by
    check_anchor()."""
    verdict = Verdict()
    previous = GENESIS
    expected = 1
    it: Iterator[Row] = iter(rows)
    for row in it:
        if row.seq != expected:
            verdict.problem = Problem(expected, "", "", f"absente (l'entrée suivante porte le n° {row.seq}) : "
                                                         "entrée supprimée")
            return verdict
        if row.prev_hash != previous:
            nxt = next(it, None)
            swapped = nxt is not None and nxt.hash == row.prev_hash  # it points at the entry after it
            why = ("entrées interverties (ordre modifié)" if swapped
                   else "le chaînage ne suit pas l'entrée précédente : entrée supprimée ou déplacée")
            verdict.problem = Problem(row.seq, row.kind, _name(row), why)
            return verdict
        if entry_hash(row) != row.hash:
            verdict.problem = Problem(row.seq, row.kind, _name(row), "contenu modifié (empreinte différente)")
            return verdict
        if expect is not None and row.seq == expect[0] and row.hash != expect[1]:
            verdict.problem = Problem(row.seq, row.kind, _name(row), f"empreinte {row.hash[:16]}…, attendue "
                                      f"{expect[1][:16]}… (journal réécrit)")
            return verdict
        previous = row.hash
        verdict.count, verdict.last_hash = row.seq, row.hash
        verdict.last_kind, verdict.last_name = row.kind, _name(row)
        expected += 1
    if expect is not None and expect[0] > verdict.count:
        verdict.problem = Problem(expect[0], "", "", f"absente : le journal n'a que {verdict.count} entrées")
    return verdict


def check_anchor(verdict: Verdict, anchor_count: int, anchor_hash: str) -> Verdict:
    """An intact chain must end where the anchor says: fewer entries is a truncated tail, a
    different last hash entries added or replaced behind the log's back."""
    verdict.anchor_count, verdict.anchor_hash = anchor_count, anchor_hash or GENESIS
    if verdict.problem is not None or (verdict.count, verdict.last_hash) == (anchor_count, verdict.anchor_hash):
        return verdict
    if verdict.count < anchor_count:
        verdict.problem = Problem(verdict.count + 1, "", "", f"absente : le journal s'arrête à {verdict.count} "
                                  f"entrées, l'ancre en compte {anchor_count} (fin du journal tronquée)")
    else:
        verdict.problem = Problem(verdict.count, verdict.last_kind, verdict.last_name,
                                  f"l'ancre compte {anchor_count} entrées, dernière empreinte "
                                  f"{verdict.anchor_hash[:16]}… : entrées ajoutées ou remplacées hors du journal")
    return verdict
