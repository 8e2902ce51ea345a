"""Reads of the reminders log and of one reminder as sent, with its attachments found again.

The evidence of an attachment is its record on the reminder (name, SHA-256, size): its bytes are not
kept in the database. They are found again where they still are, and only served when their SHA-256 is
the recorded one: the invoice's stored PDF, the letter the file backend wrote, the .eml the e-mail file
backend wrote."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit

from django.db.models import QuerySet

from relance.accounts.models import Organisation
from relance.channels.escalation.channel import stored_paths
from relance.channels.registry import backend_url
from relance.dunning.models import Channel, Reminder, ReminderLine, ReminderState, Step
from relance.ledger.models import Customer

MAX_READ = 50 * 1024 * 1024  # never read more than this to look for an attachment
LOG_FIELDS = (
    "pk", "run_date", "channel", "step_code", "state", "recipient", "total_due", "sent_at", "registered",
    "customer_id",
)


@dataclass(frozen=True)
class ReminderQuery:
    state: str = ""
    channel: str = ""
    step: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_params(cls, params) -> ReminderQuery:
        def pick(name: str, allowed) -> str:
            value = (params.get(name) or "").strip()
            return value if value in allowed else ""

        def day(name: str) -> date | None:
            try:
                return date.fromisoformat((params.get(name) or "").strip())
            except ValueError:
                return None

        return cls(state=pick("state", ReminderState.values), channel=pick("channel", Channel.values),
                   step=(params.get("step") or "").strip()[:40], date_from=day("from"), date_to=day("to"))


def list_reminders(org: Organisation, query: ReminderQuery) -> QuerySet:
    """The organisation's reminders matching the query, newest run first (index reminder_org_day)."""
    qs = Reminder.objects.filter(organisation=org)
    if query.state:
        qs = qs.filter(state=query.state)
    if query.channel:
        qs = qs.filter(channel=query.channel)
    if query.step:
        qs = qs.filter(step_code=query.step)
    if query.date_from:
        qs = qs.filter(run_date__gte=query.date_from)
    if query.date_to:
        qs = qs.filter(run_date__lte=query.date_to)
    return qs.order_by("-run_date", "-pk").values(*LOG_FIELDS)


def with_customers(rows: list[dict]) -> list[dict]:
    """Add the customer's name and code to each row of a page: one query by id, after the page is cut
    (a join before the LIMIT would make the database join every reminder of the organisation)."""
    names = dict(
        ((pk, (name, code)) for pk, name, code in
         Customer.objects.filter(pk__in={row["customer_id"] for row in rows}).values_list("pk", "name", "external_id"))
    )
    for row in rows:
        row["customer__name"], row["customer__external_id"] = names.get(row["customer_id"], ("", ""))
    return rows


def list_step_codes(org: Organisation) -> list[str]:
    """The step codes of the organisation's scenarios (the step filter's choices)."""
    return sorted(set(Step.objects.filter(scenario__organisation=org).values_list("code", flat=True)))


def get_reminder(org: Organisation, pk: int) -> Reminder:
    """The organisation's reminder (Reminder.DoesNotExist otherwise), with its customer and approver."""
    return Reminder.objects.select_related("customer", "approved_by", "organisation").get(organisation=org, pk=pk)


def list_lines(reminder: Reminder) -> list[ReminderLine]:
    return list(
        reminder.lines.select_related("invoice", "instalment")
        .only("step_code", "balance", "dropped", "instalment__position", "instalment__due_date",
              "invoice__number", "invoice__due_date", "invoice__issue_date", "invoice__total", "invoice__currency",
              "invoice__document", "reminder_id")
        .order_by("invoice__due_date", "pk")
    )


# ---- attachments ----


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        if path.is_file() and path.stat().st_size <= MAX_READ:
            return path.read_bytes()
    except OSError:
        pass
    return None


def _file_folder(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    folder = parts.netloc + parts.path  # file:///abs and file://relative alike, as the backends read them
    return Path(folder).resolve() if folder else None


def _inside(folder: Path, name: str) -> Path | None:
    path = (folder / name).resolve()
    return path if path.is_relative_to(folder) else None


def _candidates(reminder: Reminder, lines: list[ReminderLine]):
    """Every place the bytes of an attachment may still be, lazily (cheapest first)."""
    for line in lines:
        document = line.invoice.document
        if document:
            try:
                with document.open("rb") as fh:
                    yield fh.read(MAX_READ + 1)
            except (OSError, ValueError):
                pass
    if not reminder.provider_id:
        return
    if reminder.channel == Channel.LETTER:
        folder = _file_folder(backend_url("letter"))
        path = folder and _inside(folder, reminder.provider_id)
        content = path and _read(path)
        if content:
            yield content
    elif reminder.channel == Channel.ESCALATION:
        yield from escalation_files(reminder)
    elif reminder.channel == Channel.EMAIL:
        raw = raw_message(reminder)
        if raw:
            message = BytesParser(policy=policy.default).parsebytes(raw)
            for part in message.walk():
                if part.get_content_maintype() != "multipart" and (part.get_filename() or part.get("Content-ID")):
                    content = part.get_payload(decode=True)
                    if content:
                        yield content


def raw_message(reminder: Reminder) -> bytes | None:
    """The e-mail exactly as handed over (.eml), when the e-mail file backend wrote it and it is still there."""
    if reminder.channel != Channel.EMAIL or not reminder.provider_id:
        return None
    folder = _file_folder(backend_url("email", reminder.organisation.email_url))
    path = folder and _inside(folder, reminder.provider_id)
    return (path and _read(path)) or None


def escalation_files(reminder: Reminder):
    """The documents an escalation step wrote (relance.channels.escalation), in name order."""
    for path in stored_paths(reminder):
        content = _read(path)
        if content is not None:
            yield content


def find_attachments(reminder: Reminder, lines: list[ReminderLine]) -> list[dict]:
    """The reminder's attachment records, each with `content` (bytes whose SHA-256 is the recorded one)
    or None when no copy identical to what was sent is left."""
    records = [dict(record) for record in reminder.attachments or [] if isinstance(record, dict)]
    wanted = {record.get("sha256") for record in records}
    found: dict[str, bytes] = {}
    for content in _candidates(reminder, lines):
        digest = _sha256(content)
        if digest in wanted:
            found.setdefault(digest, content)
            if wanted <= found.keys():
                break
    for index, record in enumerate(records):
        record["index"] = index
        record["content"] = found.get(record.get("sha256"))
    return records
