"""The audited events that need more than one line to describe: the daily run's planned
reminders and promises (in bulk), a reminder's state after a send attempt."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date

from relance.accounts.models import Organisation
from relance.audit.chain import plain
from relance.audit.log import Event, event, record, record_many
from relance.dunning.models import Promise, Reminder, ReminderLine, ReminderState

# The thread of relance.lib.db.SecondConnection. Its share of a run's reminders is recorded by the
# first connection once it has committed (run.py): two transactions of one run appending to one
# chain would wait on each other's lock until the end of the run.
SECOND_CONNECTION_THREAD = "relance-second-connection"


def record_plan(org: Organisation, today: date, plan, snap, reminder_ids: list[int] | None = None) -> int:
    """One entry per reminder the plan wrote (and per broken promise). Without `reminder_ids`
    (a second connection's share, committed), they are read by (customer, channel, day)."""
    if reminder_ids is not None and threading.current_thread().name == SECOND_CONNECTION_THREAD:
        return 0
    if reminder_ids is None:
        keys = dict(((c, ch), pk) for c, ch, pk in Reminder.objects.filter(
            organisation=org, run_date=today, customer_id__in={m.customer_id for m in plan.messages}
        ).values_list("customer_id", "channel", "pk"))
        reminder_ids = [keys[(m.customer_id, m.channel)] for m in plan.messages]
    numbers = {inv.id: inv.number for inv in snap.invoices}
    customers = snap.customers
    events = [
        Event("reminder.planned", "reminder", str(pk), customers[m.customer_id].external_id, m.customer_id, {
            "reminder": pk, "channel": m.channel, "step": m.step_code, "template": m.template, "tone": m.tone,
            "scenario": m.scenario_code, "run_date": today.isoformat(), "total_due": str(m.total_due),
            "state": ReminderState.AWAITING_APPROVAL.value if m.needs_approval else ReminderState.PLANNED.value,
            "invoices": [numbers.get(line.invoice_id, str(line.invoice_id)) for line in m.lines],
        })
        for m, pk in zip(plan.messages, reminder_ids, strict=True)
    ]
    events += promise_events("promise.broken", plan.broken_promises, org.pk)
    return record_many(org, events)


def promise_events(kind: str, promise_ids: Iterable[int], org_id: int | None = None) -> list[Event]:
    """Entries about these promises (of organisation `org_id` when given), in id order."""
    ids = sorted(promise_ids)
    rows = Promise.objects.filter(pk__in=ids).order_by("pk")
    if org_id is not None:
        rows = rows.filter(organisation_id=org_id)
    return [Event(kind, "promise", str(pk), number, customer_id,
                  plain({"promise": pk, "invoice": number, "promised_date": day, "amount": amount, "state": state}))
            for pk, number, customer_id, day, amount, state in rows.values_list(
                "pk", "invoice__number", "invoice__customer_id", "promised_date", "amount", "state")] if ids else []


def record_kept_promises(promise_ids: Iterable[int]) -> int:
    """An entry per promise kept, in its organisation's log."""
    ids = list(promise_ids)
    for org_id in sorted(set(Promise.objects.filter(pk__in=ids).values_list("organisation_id", flat=True))):
        record_many(org_id, promise_events("promise.kept", ids, org_id))
    return len(ids)


FINISHED = {
    ReminderState.SENT: "reminder.sent",
    ReminderState.FAILED: "reminder.failed",
    ReminderState.UNKNOWN: "reminder.unknown",
    ReminderState.AWAITING_APPROVAL: "reminder.held",
}


def record_reminder_state(reminder: Reminder, user=None) -> int:
    """The state a send attempt (or a person) left the reminder in, with its evidence: recipient,
    Message-ID, provider receipt, error. A reminder put back in the queue (quiet hours) is not an event."""
    kind = FINISHED.get(reminder.state)
    if kind is None:
        return 0
    numbers = list(reminder.lines.filter(dropped=False).values_list("invoice__number", flat=True))
    return record(kind, reminder, user, state_data(reminder, numbers))


def state_data(reminder: Reminder, invoices: list[str]) -> dict:
    data = {
        "reminder": reminder.pk, "channel": reminder.channel, "step": reminder.step_code, "state": reminder.state,
        "recipients": [r for r in (reminder.recipient or "").replace(";", ",").split(",") if r.strip()],
        "message_id": reminder.message_id, "provider_id": reminder.provider_id, "attempts": reminder.attempts,
        "invoices": invoices,
    }
    if reminder.state != ReminderState.SENT:
        data["error"] = reminder.error
        data["retry_at"] = reminder.next_attempt_at
    return data


def record_reminder_states(reminders: Iterable[Reminder]) -> int:
    """record_reminder_state() for many reminders at once (one read of their lines, one append per
    organisation). Call it inside the transaction that changed their states."""
    reminders = [r for r in reminders if r.state in FINISHED]
    lines: dict[int, list[str]] = {}
    for reminder_id, number in ReminderLine.objects.filter(
            reminder_id__in=[r.pk for r in reminders], dropped=False).order_by("pk").values_list(
            "reminder_id", "invoice__number"):
        lines.setdefault(reminder_id, []).append(number)
    by_org: dict[int, list] = {}
    for reminder in reminders:
        by_org.setdefault(reminder.organisation_id, []).append(
            event(FINISHED[reminder.state], reminder, None, state_data(reminder, lines.get(reminder.pk, []))))
    for org_id, events in sorted(by_org.items()):
        record_many(org_id, events)
    return len(reminders)


def record_resolution(reminder: Reminder, was_sent: bool, user=None) -> int:
    """A person's decision on a reminder whose sending was in doubt."""
    return record("reminder.resolved", reminder, user, {"was_sent": was_sent})
