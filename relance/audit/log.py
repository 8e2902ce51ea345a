"""Append to the audit log, and read it: record() one event, record_many() a batch, entries_for().

Every writer of an audited event calls these inside its own transaction, so a write rolled back
leaves no entry. Appends of one organisation take its anchor row (AuditAnchor) first: on
PostgreSQL a row lock, on SQLite the write lock of the whole database, so two writers never give
the same seq or fork the chain; the lock is held until the caller's transaction ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import islice

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.audit.chain import GENESIS, Row, data_text, entry_hash, plain
from relance.audit.models import AuditAnchor, AuditEntry
from relance.ledger.models import Invoice
from relance.lib.bulk import BulkInsert

__all__ = ["Event", "acting_as", "entries_for", "event", "lock", "record", "record_many"]

# Who acts when no user is given: "system" (the daily run, the sender), "cli", "portal".
_actor: ContextVar[str] = ContextVar("relance_audit_actor", default="system")
CHUNK = 5000
FIELDS = ["organisation_id", "seq", "at", "kind", "actor", "actor_id", "object_type", "object_id",
          "object_label", "customer_id", "data_json", "prev_hash", "hash"]


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Entries recorded without a user inside this block name `name` as their actor."""
    token = _actor.set(name)
    try:
        yield
    finally:
        _actor.reset(token)


@dataclass
class Event:
    """One thing that happened, before it gets its place in the chain."""

    kind: str
    object_type: str = ""
    object_id: str = ""
    object_label: str = ""
    customer_id: int | None = None
    data: dict = field(default_factory=dict)
    actor: str = ""
    actor_id: int | None = None


# What an entry says of its object, besides what the caller adds: the fields that make the event.
FACTS = {
    "reminder": ("channel", "step_code", "template", "state", "total_due", "recipient", "message_id", "provider_id",
                 "error"),
    "contact": ("kind", "value", "role", "valid", "invalid_reason"),
    "promise": ("promised_date", "amount", "state"),
    "dispute": ("reason", "resolution", "is_open"),
    "task": ("kind", "title", "outcome", "state"),
    "note": ("text",),
    "recoverycost": ("date", "kind", "amount", "label"),
    "customer": ("scenario_id", "collector_id", "paused_until", "pause_reason", "in_insolvency", "insolvency_date",
                 "insolvency_kind"),
    "paymentplan": ("state", "note"),
    "payment": ("date", "amount", "currency", "reference", "method"),
    "allocation": ("amount", "source", "payment_id", "credit_note_id"),
    "importbatch": ("kind", "filename", "sha256", "created", "updated", "unchanged"),
    "portalvisit": ("page", "ip_address", "reminder_id"),
    "scenario": ("code", "name", "active"),
    "step": ("code", "name", "position", "offset_days", "anchor", "channel", "template", "tone", "needs_approval",
             "registered", "min_gap_days", "options"),
    "portalrequest": ("kind", "state", "paid_on", "amount", "reason", "comment", "instalments", "resolution"),
}
MISSING = object()


def facts(obj: Model | None) -> dict:
    """The object's own fields that an entry keeps (FACTS), its id under its type, its invoice."""
    if obj is None:
        return {}
    kind = obj._meta.model_name
    out = {kind: obj.pk}
    for name in FACTS.get(kind, ()):
        value = getattr(obj, name, MISSING)
        if value is not MISSING:
            out[name] = value
    if getattr(obj, "invoice_id", None):
        out["invoice"] = obj.invoice.number
    return out


def describe(obj: Model | None) -> tuple[str, str, str, int | None]:
    """(type, id, human label, customer id) of an audited object: an invoice by its number, a
    customer by its code, anything else of a customer by that customer's code."""
    if obj is None:
        return "", "", "", None
    kind = obj._meta.model_name
    if kind == "customer":
        return kind, str(obj.pk), obj.external_id, obj.pk
    customer_id = getattr(obj, "customer_id", None)
    invoice_id = getattr(obj, "invoice_id", None)
    if getattr(obj, "number", ""):
        label = obj.number
    elif invoice_id:
        label = obj.invoice.number
        customer_id = customer_id or obj.invoice.customer_id
    elif customer_id:
        label = obj.customer.external_id
    else:
        label = str(getattr(obj, "slug", "") or getattr(obj, "filename", "") or obj.pk)
    return kind, str(obj.pk), label[:200], customer_id


def event(kind: str, obj: Model | None = None, user=None, data: dict | None = None, *, actor: str = "",
          label: str = "", customer_id: int | None = None) -> Event:
    """An Event about `obj` by `user` (None: the current actor, see acting_as); its data are the
    object's FACTS and `data`."""
    object_type, object_id, object_label, customer = describe(obj)
    if user is not None and getattr(user, "pk", None) is not None:
        actor, actor_id = user.get_username(), user.pk
    else:
        actor, actor_id = actor or _actor.get(), None
    return Event(kind, object_type, object_id, label or object_label, customer_id or customer,
                 plain({**facts(obj), **(data or {})}), actor[:150], actor_id)


def _organisation_id(obj) -> int:
    if isinstance(obj, Organisation):
        return obj.pk
    org_id = getattr(obj, "organisation_id", None)
    if org_id is not None:
        return org_id
    return obj.invoice.organisation_id if getattr(obj, "invoice_id", None) else obj.customer.organisation_id


def record(kind: str, obj: Model, user=None, data: dict | None = None, *, org: Organisation | int | None = None,
           actor: str = "", label: str = "") -> int:
    """Append one event about `obj` (its organisation's log). Returns its seq."""
    org_id = org if isinstance(org, int) else org.pk if org is not None else _organisation_id(obj)
    return record_many(org_id, [event(kind, obj, user, data, actor=actor, label=label)])


def _lock_head(org_id: int) -> AuditAnchor:
    # An UPDATE first: on SQLite it takes the database's write lock before anything is read (a
    # read first could see a head another writer is about to move), on PostgreSQL the row lock.
    now = timezone.now()
    if not AuditAnchor.objects.filter(pk=org_id).update(updated_at=now):
        AuditAnchor.objects.get_or_create(organisation_id=org_id, defaults={"updated_at": now})
    return AuditAnchor.objects.select_for_update().get(pk=org_id)


def lock(org: Organisation | int) -> None:
    """Hold the organisation's log until the caller's transaction ends: no entry is appended meanwhile."""
    _lock_head(org if isinstance(org, int) else org.pk)


def record_many(org: Organisation | int, events: Iterable[Event]) -> int:
    """Append these events, in order, to the organisation's log: hashes chained here, rows
    written by chunks (COPY on PostgreSQL). Returns the seq of the last one (0: none given)."""
    org_id = org if isinstance(org, int) else org.pk
    events = iter(events)
    first = next(events, None)
    if first is None:
        return 0
    events = _prepend(first, events)
    with transaction.atomic():
        head = _lock_head(org_id)
        seq, previous = head.count, head.last_hash or GENESIS
        at = timezone.now()
        inserter = BulkInsert(AuditEntry, FIELDS)
        while batch := list(islice(events, CHUNK)):  # a generator of a million events stays one
            rows = []
            for ev in batch:
                seq += 1
                row = Row(org_id, seq, at, ev.kind, ev.actor or _actor.get(), ev.actor_id, ev.object_type,
                          str(ev.object_id), ev.object_label, ev.customer_id, data_text(ev.data), previous)
                previous = entry_hash(row)
                rows.append((org_id, seq, at, row.kind, row.actor, row.actor_id, row.object_type, row.object_id,
                             row.object_label, row.customer_id, row.data_json, row.prev_hash, previous))
            inserter.insert(rows)
        AuditAnchor.objects.filter(pk=org_id).update(count=seq, last_hash=previous, updated_at=at)
    return seq


def _prepend(first: Event, rest: Iterator[Event]) -> Iterator[Event]:
    yield first
    yield from rest


def numbers(invoice_ids: Iterable[int]) -> list[str]:
    """The numbers of these invoices, in id order (an entry names invoices by number)."""
    return list(Invoice.objects.filter(pk__in=list(invoice_ids)).order_by("pk").values_list("number", flat=True))


def list_entries(org: Organisation, kind: str = "", object_type: str = "", label: str = "",
                 customer_id: int | None = None):
    """The organisation's entries, newest first, filtered (the page and `relance audit`)."""
    qs = AuditEntry.objects.filter(organisation=org)
    if kind:
        qs = qs.filter(kind=kind)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if label:
        qs = qs.filter(object_label=label)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("-seq")


def entries_for(org: Organisation, customer=None, invoice=None) -> list[AuditEntry]:
    """The entries about a customer (or one invoice of it), oldest first: the evidence dossier's.

    An invoice's entries are those about the invoice itself and those naming its number among
    their invoices (a reminder, a payment's allocation, a plan)."""
    qs = AuditEntry.objects.filter(organisation=org).order_by("seq")
    if invoice is not None:
        qs = qs.filter(customer_id=invoice.customer_id)
        return [e for e in qs if (e.object_type == "invoice" and e.object_id == str(invoice.pk))
                or invoice.number in (e.data.get("invoices") or ()) or e.data.get("invoice") == invoice.number]
    if customer is not None:
        qs = qs.filter(customer_id=customer.pk)
    return list(qs)
