"""The delivery pipeline, for every channel: claim, re-check, render, hand over, record.

A Reminder row exists before anything is sent (the engine plans it). Here a worker:
1. claims ONE due reminder at a time with a conditional UPDATE (state planned, or failed and due for
   a retry, or claimed by a worker whose lease ran out before it handed the message over; not before
   `not_before`): of two workers, exactly one gets each row. The claim carries a random token and a
   lease (`next_attempt_at` holds its end while the row is `sending`);
2. applies the planner's own eligibility rule again (relance.dunning.actions.revalidate_reminder):
   lines paid, disputed, promised, paused or under insolvency proceedings since planning are
   dropped, a reminder left without lines is cancelled with the reasons;
3. renders through the channel, then hands over: one conditional UPDATE stores subject, body,
   attachment hashes and `handed_over_at` *if the claim is still ours*; only then is the backend
   called (the evidence is what was sent, even if the process dies);
4. records the receipt (provider id, SMTP reply, Message-ID) and `sent`.
A crash before the hand-over costs nothing: the lease runs out and the next start sends the message.
Only a message being handed over when the process died may have reached the provider: after
STUCK_MINUTES it becomes `unknown` (never re-sent automatically; a person resolves it with
`relance reminders resolve`). Transient errors are retried with exponential backoff up to
MAX_ATTEMPTS hand-overs, permanent ones are recorded and never retried.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.audit import events as audit_events
from relance.channels.base import Backend, DeliveryError
from relance.channels.context import build_context
from relance.channels.registry import BACKENDS, CHANNELS, backend_url, get_backend, get_channel
from relance.dunning.actions import fall_back, revalidate_reminder
from relance.dunning.models import Reminder, ReminderState
from relance.lib.secrets import redact

log = logging.getLogger(__name__)

MAX_ATTEMPTS = int(getattr(settings, "RELANCE_SEND_MAX_ATTEMPTS", 5))
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
STUCK_MINUTES = int(getattr(settings, "RELANCE_SEND_STUCK_MINUTES", 15))
# How long a claim holds a reminder before its hand-over: rendering a letter takes seconds.
LEASE = timedelta(seconds=int(getattr(settings, "RELANCE_SEND_LEASE_SECONDS", 120)))
ERROR_MAX = 2000
URL_FIELDS = {"email": "email_url", "sms": "sms_url"}


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    deferred: int = 0
    unknown: int = 0
    dropped_lines: int = 0
    swept: int = 0
    held: int = 0  # formal notices back to approval: they depend on a rate the tables do not have

    def as_dict(self) -> dict:
        return asdict(self)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 5 min, 10, 20, 40 … at most 6 h."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


SENDABLE_STATES = [ReminderState.PLANNED, ReminderState.FAILED, ReminderState.SENDING]


# What the three terms of _due imply, in the words of the partial index reminder_outbox
# (dunning.Reminder): the database then reads the reminders to send, not every one ever sent. Literal
# SQL on purpose: SQLite does not match a partial index's condition against bound parameters.
_SENDABLE_SQL = RawSQL(
    f"{Reminder._meta.db_table}.state IN ({', '.join(repr(str(s)) for s in SENDABLE_STATES)})", [],
    output_field=BooleanField())


def _due(now: datetime) -> Q:
    return (
        Q(_SENDABLE_SQL)
        & (
            Q(state=ReminderState.PLANNED)
            | Q(state=ReminderState.FAILED, next_attempt_at__lte=now)
            # Claimed by a worker that died (or stalled) before the hand-over: never reached a provider.
            | Q(state=ReminderState.SENDING, handed_over_at__isnull=True, next_attempt_at__lt=now)
        )
        & (Q(not_before__isnull=True) | Q(not_before__lte=now))
        & Q(channel__in=list(CHANNELS))
    )


def claim_one(org: Organisation | None = None, now: datetime | None = None) -> Reminder | None:
    """Claim the oldest due reminder for this worker, or None when there is nothing to send."""
    now = now or timezone.now()
    candidates = Reminder.objects.filter(_due(now))
    if org is not None:
        candidates = candidates.filter(organisation=org)
    for pk in candidates.order_by("id").values_list("id", flat=True)[:20]:
        token = uuid.uuid4().hex
        # The claim: the WHERE re-checks the state, so of two workers exactly one updates the row.
        won = Reminder.objects.filter(_due(now), pk=pk).update(
            state=ReminderState.SENDING, claim_token=token, handed_over_at=None, next_attempt_at=now + LEASE
        )
        if won:
            return (Reminder.objects.select_related("organisation", "customer", "customer__collector").get(pk=pk))
    return None


def sweep_stuck(now: datetime | None = None, minutes: int = STUCK_MINUTES) -> int:
    """Reminders handed over by a worker that never recorded the answer become `unknown`: the
    provider may have accepted them, so a person decides, never a retry. Each one moved gets its
    `reminder.unknown` entry in its organisation's log, in the transaction that moves it."""
    now = now or timezone.now()
    stuck = Reminder.objects.filter(state=ReminderState.SENDING, handed_over_at__lt=now - timedelta(minutes=minutes))
    if not stuck.exists():  # the usual case: no transaction (on SQLite, no write lock) for nothing
        return 0
    with transaction.atomic():
        # Locked first (PostgreSQL's row locks; SQLite's IMMEDIATE transaction holds the write lock):
        # the rows moved are exactly the rows recorded, whatever a worker finishes meanwhile.
        ids = list(stuck.select_for_update().order_by("pk").values_list("pk", flat=True))
        if not ids:
            return 0
        moved = Reminder.objects.filter(pk__in=ids).update(
            state=ReminderState.UNKNOWN, next_attempt_at=None,
            error=f"envoi interrompu pendant la remise au fournisseur depuis plus de {minutes} min : "
                  "le fournisseur a pu l'accepter ; à vérifier",
        )
        audit_events.record_reminder_states(
            Reminder.objects.filter(pk__in=ids).select_related("customer").order_by("pk"))
    return moved


@transaction.atomic
def resolve_unknown(reminder: Reminder, was_sent: bool, user=None) -> None:
    """A person's decision on an `unknown` reminder: it did reach the customer, or send it again.
    Who decided and when is added to the reminder's record."""
    if reminder.state != ReminderState.UNKNOWN:
        raise ValueError(f"reminder {reminder.pk} is {reminder.state}, not unknown")
    who = getattr(user, "username", "") or "l'opérateur"
    verdict = "reçue par le client" if was_sent else "non reçue, remise dans la file d'envoi"
    reminder.error = f"{reminder.error} — {verdict} selon {who} le {timezone.now():%d/%m/%Y %H:%M} UTC"[:ERROR_MAX]
    if was_sent:
        reminder.state, reminder.sent_at = ReminderState.SENT, reminder.sent_at or reminder.handed_over_at
    else:
        reminder.state, reminder.next_attempt_at, reminder.handed_over_at = ReminderState.PLANNED, None, None
    reminder.save(update_fields=["state", "sent_at", "next_attempt_at", "handed_over_at", "error"])
    audit_events.record_resolution(reminder, was_sent, user)


class _Backends:
    """One backend per (family, URL) for the whole run: SMTP opens one connection and reuses it."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str], Backend | DeliveryError] = {}

    def get(self, reminder: Reminder, channel) -> Backend:
        family = reminder.channel
        if family in BACKENDS:
            url = backend_url(family, getattr(reminder.organisation, URL_FIELDS.get(family, ""), "") or "")
            key = (family, url)
            make: Callable[[], Backend] = lambda: get_backend(family, url)  # noqa: E731
        else:
            # e.g. calls: the channel's own backend, made for this reminder (a task), never shared.
            key = (family, f"reminder:{reminder.pk}")
            make = lambda: channel.backend(reminder)  # noqa: E731
        if key not in self.open:
            try:
                backend = make()
                backend.open()
                self.open[key] = backend
            except DeliveryError as exc:
                self.open[key] = exc  # the server is down: the rest of the batch fails fast, retried later
            except (ValueError, ImportError) as exc:  # a bad URL, a missing backend: fixable configuration
                self.open[key] = DeliveryError(f"configuration {family} : {redact(str(exc), [key[1]])}")
        found = self.open[key]
        if isinstance(found, DeliveryError):
            raise found
        return found

    def close(self) -> None:
        for backend in self.open.values():
            if isinstance(backend, Backend):
                try:
                    backend.close()
                except Exception:  # noqa: BLE001 - closing must not hide what was sent
                    log.exception("closing a backend")


def deliver_pending(org: Organisation | None = None, now: datetime | None = None, limit: int | None = None
                    ) -> DeliveryStats:
    """Send every due reminder (of one organisation, or all), one claim at a time; returns the counts."""
    stats = DeliveryStats(swept=sweep_stuck(now))
    backends = _Backends()
    try:
        while limit is None or stats.claimed < limit:
            reminder = claim_one(org, now or timezone.now())
            if reminder is None:
                break
            stats.claimed += 1
            deliver_one(reminder, backends, stats, now)
    finally:
        backends.close()
    return stats


def deliver_one(reminder: Reminder, backends: _Backends, stats: DeliveryStats, now: datetime | None = None) -> str:
    """Deliver one claimed reminder; returns its new state."""
    current = now or timezone.now()
    today = timezone.localtime(current, ZoneInfo(reminder.organisation.time_zone)).date()
    channel = get_channel(reminder.channel)
    not_before = getattr(channel, "not_before", None)
    if callable(not_before):
        until = not_before(reminder, current)
        if until and until > current:  # quiet hours (SMS): back to planned, not a failed attempt
            _finish(reminder, ReminderState.PLANNED, not_before=until, next_attempt_at=None, claim_token="")
            stats.deferred += 1
            return ReminderState.PLANNED
    still_due = revalidate_reminder(reminder, today)
    stats.dropped_lines += reminder.dropped_now
    if not still_due:
        stats.cancelled += 1
        return ReminderState.CANCELLED
    try:
        context = build_context(reminder, today=today)
        if _needs_approval_for_rates(reminder, context):
            stats.held += 1
            return ReminderState.AWAITING_APPROVAL
        outgoing = channel.render(reminder, context)
    except DeliveryError as exc:
        return _failed(reminder, exc, current, stats)
    except Exception as exc:  # noqa: BLE001 - a template or data problem: nothing left, so no resend risk
        log.exception("rendering reminder %s", reminder.pk)
        return _failed(reminder, DeliveryError(f"rendu impossible : {exc}", permanent=True), current, stats)
    # The hand-over: the evidence first, saved before the provider sees it, and only while the claim is
    # ours (a worker that stalled past its lease finds the row taken by another and sends nothing).
    evidence = {
        "recipient": outgoing.recipient[:500], "subject": outgoing.subject[:500], "body_text": outgoing.body_text,
        "body_html": outgoing.body_html, "attachments": [a.record() for a in outgoing.attachments],
        "message_id": outgoing.headers.get("Message-ID", "")[:300], "handed_over_at": timezone.now(),
    }
    if not Reminder.objects.filter(
        pk=reminder.pk, state=ReminderState.SENDING, claim_token=reminder.claim_token, handed_over_at__isnull=True
    ).update(attempts=F("attempts") + 1, **evidence):
        log.warning("reminder %s: claim lost before the hand-over, left to its new owner", reminder.pk)
        return ReminderState.SENDING
    reminder.attempts += 1
    for name, value in evidence.items():
        setattr(reminder, name, value)
    try:
        receipt = backends.get(reminder, channel).send(outgoing)
    except DeliveryError as exc:
        return _failed(reminder, exc, current, stats)
    except Exception as exc:  # noqa: BLE001 - we cannot tell whether it went out: a person decides
        log.exception("sending reminder %s", reminder.pk)
        error = DeliveryError(f"erreur inattendue : {redact(str(exc))}", uncertain=True)
        return _failed(reminder, error, current, stats)
    _finish(reminder, ReminderState.SENT, sent_at=timezone.now(), next_attempt_at=None, error="",
            provider_id=receipt.provider_id[:200], provider_response=receipt.response,
            message_id=(receipt.message_id or reminder.message_id)[:300])
    stats.sent += 1
    return ReminderState.SENT


def _needs_approval_for_rates(reminder: Reminder, context: dict) -> bool:
    """A formal notice whose interest rests on a rate missing from the tables (carried forward, an
    estimate) waits for a person's approval, with a warning naming the periods; once approved it
    goes, printing "taux estimé"."""
    missing = context.get("estimated_rates") or []
    if reminder.tone != "formal" or not missing or reminder.approved_by_id is not None:
        return False
    _finish(reminder, ReminderState.AWAITING_APPROVAL, next_attempt_at=None, claim_token="",
            error="taux d'intérêt absent de la table des taux pour " + ", ".join(missing)
                  + " : le taux connu est reporté (estimation) ; à vérifier et approuver avant l'envoi "
                  "(relance/law/data/ecb_rates.csv)")
    return True


def _failed(reminder: Reminder, exc: DeliveryError, now: datetime, stats: DeliveryStats) -> str:
    fields = {"error": exc.message[:ERROR_MAX], "provider_response": exc.response, "claim_token": ""}
    if exc.uncertain:
        state, fields["next_attempt_at"] = ReminderState.UNKNOWN, None
        stats.unknown += 1
    elif exc.permanent or reminder.attempts >= MAX_ATTEMPTS:
        state, fields["next_attempt_at"] = ReminderState.FAILED, None
        if not exc.permanent:
            fields["error"] = f"{fields['error']} (abandon après {reminder.attempts} tentatives)"[:ERROR_MAX]
        stats.failed += 1
    else:
        state, fields["next_attempt_at"] = ReminderState.FAILED, now + backoff(max(reminder.attempts, 1))
        fields["handed_over_at"] = None  # not handed over, or refused: it may be claimed again
        stats.retrying += 1
    _finish(reminder, state, **fields)
    if state == ReminderState.FAILED and fields["next_attempt_at"] is None and not exc.uncertain:
        log.warning("reminder %s failed for good: %s", reminder.pk, exc.message)
        if exc.unreachable:
            fall_back(reminder, exc.message)
    return state


def _finish(reminder: Reminder, state: str, **fields) -> None:
    reminder.state = state
    for name, value in fields.items():
        setattr(reminder, name, value)
    with transaction.atomic():  # the state and its audit entry together
        reminder.save(update_fields=["state", *fields])
        audit_events.record_reminder_state(reminder)
