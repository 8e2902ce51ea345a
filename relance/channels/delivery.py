"""The delivery pipeline, for every channel: claim, re-check, render, record, send, record.

A Reminder row exists before anything is sent (the engine plans it). Here a worker:
1. claims due reminders with a conditional UPDATE (state planned, or failed and due for a retry;
   not before `not_before`): of two workers, exactly one gets each row;
2. re-reads the balance of every invoice: lines paid, disputed or promised since planning are
   dropped, a reminder left without lines is cancelled;
3. renders through the channel and stores subject, body and attachment hashes on the Reminder
   *before* calling the backend (the evidence is what was sent, even if the process dies);
4. sends, then stores the receipt (provider id, SMTP reply, Message-ID) and `sent`.
Transient errors are retried with exponential backoff up to MAX_ATTEMPTS, permanent ones are
recorded and never retried. A reminder still `sending` after STUCK_MINUTES (a crash between the
provider's answer and our commit) becomes `unknown` and is never re-sent automatically.

While a reminder is `sending`, its next_attempt_at holds the time it was claimed (the sweep reads it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.channels.base import Backend, DeliveryError
from relance.channels.registry import BACKENDS, CHANNELS, backend_url, get_backend, get_channel
from relance.dunning.models import Dispute, Promise, PromiseState, Reminder, ReminderState
from relance.ledger.models import InvoiceStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = int(getattr(settings, "RELANCE_SEND_MAX_ATTEMPTS", 5))
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
STUCK_MINUTES = int(getattr(settings, "RELANCE_SEND_STUCK_MINUTES", 15))
CLAIM_CHUNK = 100
ERROR_MAX = 2000
# Messages about paid or promised invoices: the balance re-check must not cancel them.
NO_BALANCE_CHECK = {"payment_thanks"}
NO_PROMISE_CHECK = {"payment_thanks", "call_recap", "broken_promise", "payment_plan_confirmation", "statement"}
DROP_STATUSES = {InvoiceStatus.PAID, InvoiceStatus.DISPUTED, InvoiceStatus.WRITTEN_OFF, InvoiceStatus.CANCELLED}
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

    def as_dict(self) -> dict:
        return asdict(self)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 5 min, 10, 20, 40 … at most 6 h."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _due(now: datetime) -> Q:
    return (
        (Q(state=ReminderState.PLANNED) | Q(state=ReminderState.FAILED, next_attempt_at__lte=now))
        & (Q(not_before__isnull=True) | Q(not_before__lte=now))
        & Q(channel__in=list(CHANNELS))
    )


def claim_due(org: Organisation | None = None, now: datetime | None = None, limit: int = CLAIM_CHUNK) -> list[int]:
    """Claim up to `limit` due reminders for this worker; returns the ids it now owns (state sending)."""
    now = now or timezone.now()
    candidates = Reminder.objects.filter(_due(now))
    if org is not None:
        candidates = candidates.filter(organisation=org)
    claimed = []
    for pk in candidates.order_by("id").values_list("id", flat=True)[:limit]:
        # The claim: the WHERE re-checks the state, so of two workers exactly one updates the row.
        won = Reminder.objects.filter(_due(now), pk=pk).update(
            state=ReminderState.SENDING, next_attempt_at=now, attempts=F("attempts") + 1
        )
        if won:
            claimed.append(pk)
    return claimed


def sweep_stuck(now: datetime | None = None, minutes: int = STUCK_MINUTES) -> int:
    """Reminders left `sending` by a crashed worker become `unknown`: a person decides, never a retry."""
    now = now or timezone.now()
    return Reminder.objects.filter(
        state=ReminderState.SENDING, next_attempt_at__lt=now - timedelta(minutes=minutes)
    ).update(
        state=ReminderState.UNKNOWN, next_attempt_at=None,
        error=f"envoi interrompu depuis plus de {minutes} min : le fournisseur a pu l'accepter ; à vérifier",
    )


def resolve_unknown(reminder: Reminder, was_sent: bool) -> None:
    """A person's decision on an `unknown` reminder: it did reach the customer, or send it again."""
    if reminder.state != ReminderState.UNKNOWN:
        raise ValueError(f"reminder {reminder.pk} is {reminder.state}, not unknown")
    if was_sent:
        reminder.state, reminder.sent_at = ReminderState.SENT, reminder.sent_at or timezone.now()
    else:
        reminder.state, reminder.next_attempt_at = ReminderState.PLANNED, None
    reminder.save(update_fields=["state", "sent_at", "next_attempt_at"])


def recheck_lines(reminder: Reminder, today) -> tuple[int, int]:
    """Drop the lines whose invoice no longer needs a reminder; returns (lines kept, lines dropped now)."""
    lines = [ln for ln in reminder.lines.select_related("invoice") if not ln.dropped]
    if not lines or reminder.template in NO_BALANCE_CHECK:
        return len(lines), 0
    ids = [ln.invoice_id for ln in lines]
    disputed = set(Dispute.objects.filter(invoice_id__in=ids, is_open=True).values_list("invoice_id", flat=True))
    promised: set[int] = set()
    if reminder.template not in NO_PROMISE_CHECK:
        promised = set(Promise.objects.filter(invoice_id__in=ids, state=PromiseState.OPEN,
                                              promised_date__gte=today).values_list("invoice_id", flat=True))
    minimum = reminder.organisation.min_reminder_amount
    dropped = []
    for line in lines:
        inv = line.invoice
        if (inv.open_balance <= 0 or inv.open_balance < minimum or inv.status in DROP_STATUSES
                or inv.pk in disputed or inv.pk in promised):
            line.dropped = True
            dropped.append(line)
    for line in dropped:
        line.save(update_fields=["dropped"])
    return len(lines) - len(dropped), len(dropped)


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
                self.open[key] = DeliveryError(f"configuration {family} : {exc}")
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
    """Send every due reminder (of one organisation, or all), chunk by chunk; returns the counts."""
    stats = DeliveryStats(swept=sweep_stuck(now))
    backends = _Backends()
    try:
        while limit is None or stats.claimed < limit:
            chunk = CLAIM_CHUNK if limit is None else min(CLAIM_CHUNK, limit - stats.claimed)
            ids = claim_due(org, now or timezone.now(), chunk)
            if not ids:
                break
            stats.claimed += len(ids)
            reminders = (Reminder.objects.filter(pk__in=ids)
                         .select_related("organisation", "customer", "customer__collector")
                         .order_by("channel", "organisation_id", "id"))
            for reminder in reminders:
                deliver_one(reminder, backends, stats, now)
    finally:
        backends.close()
    return stats


def deliver_one(reminder: Reminder, backends: _Backends, stats: DeliveryStats, now: datetime | None = None) -> str:
    """Deliver one claimed reminder; returns its new state."""
    from relance.channels.context import build_context

    current = now or timezone.now()
    today = timezone.localtime(current, ZoneInfo(reminder.organisation.time_zone)).date()
    channel = get_channel(reminder.channel)
    not_before = getattr(channel, "not_before", None)
    if callable(not_before):
        until = not_before(reminder, current)
        if until and until > current:  # quiet hours (SMS): back to planned, not a failed attempt
            _finish(reminder, ReminderState.PLANNED, not_before=until, next_attempt_at=None,
                    attempts=max(reminder.attempts - 1, 0))
            stats.deferred += 1
            return ReminderState.PLANNED
    kept, dropped = recheck_lines(reminder, today)
    stats.dropped_lines += dropped
    if dropped and not kept:
        _finish(reminder, ReminderState.CANCELLED, next_attempt_at=None,
                error="annulée avant l'envoi : toutes ses factures ont été réglées, contestées ou promises")
        stats.cancelled += 1
        return ReminderState.CANCELLED
    try:
        outgoing = channel.render(reminder, build_context(reminder, today=today))
    except DeliveryError as exc:
        return _failed(reminder, exc, current, stats)
    except Exception as exc:  # noqa: BLE001 - a template or data problem: nothing left, so no resend risk
        log.exception("rendering reminder %s", reminder.pk)
        return _failed(reminder, DeliveryError(f"rendu impossible : {exc}", permanent=True), current, stats)
    # The evidence first: what is about to go out, saved before the provider sees it.
    _finish(reminder, ReminderState.SENDING, recipient=outgoing.recipient[:500], subject=outgoing.subject[:500],
            body_text=outgoing.body_text, body_html=outgoing.body_html,
            attachments=[a.record() for a in outgoing.attachments],
            message_id=outgoing.headers.get("Message-ID", "")[:300], next_attempt_at=timezone.now())
    try:
        receipt = backends.get(reminder, channel).send(outgoing)
    except DeliveryError as exc:
        return _failed(reminder, exc, current, stats)
    except Exception as exc:  # noqa: BLE001 - we cannot tell whether it went out: a person decides
        log.exception("sending reminder %s", reminder.pk)
        return _failed(reminder, DeliveryError(f"erreur inattendue : {exc}", uncertain=True), current, stats)
    _finish(reminder, ReminderState.SENT, sent_at=timezone.now(), next_attempt_at=None, error="",
            provider_id=receipt.provider_id[:200], provider_response=receipt.response,
            message_id=(receipt.message_id or reminder.message_id)[:300])
    stats.sent += 1
    return ReminderState.SENT


def _failed(reminder: Reminder, exc: DeliveryError, now: datetime, stats: DeliveryStats) -> str:
    fields = {"error": exc.message[:ERROR_MAX], "provider_response": exc.response}
    if exc.uncertain:
        state, fields["next_attempt_at"] = ReminderState.UNKNOWN, None
        stats.unknown += 1
    elif exc.permanent or reminder.attempts >= MAX_ATTEMPTS:
        state, fields["next_attempt_at"] = ReminderState.FAILED, None
        if not exc.permanent:
            fields["error"] = f"{fields['error']} (abandon après {reminder.attempts} tentatives)"[:ERROR_MAX]
        stats.failed += 1
    else:
        state, fields["next_attempt_at"] = ReminderState.FAILED, now + backoff(reminder.attempts)
        stats.retrying += 1
    _finish(reminder, state, **fields)
    if state == ReminderState.FAILED and fields["next_attempt_at"] is None and not exc.uncertain:
        log.warning("reminder %s failed for good: %s", reminder.pk, exc.message)
    return state


def _finish(reminder: Reminder, state: str, **fields) -> None:
    reminder.state = state
    for name, value in fields.items():
        setattr(reminder, name, value)
    reminder.save(update_fields=["state", *fields])
