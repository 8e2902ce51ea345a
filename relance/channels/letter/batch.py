"""The day's letters in one PDF to print (a cover sheet, then each letter as it was sent), and the
registered-mail number and acknowledgement date entered once the letters are posted."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from relance.accounts.models import Organisation
from relance.channels.context import build_context
from relance.channels.letter import layout
from relance.channels.letter.channel import LetterChannel, build_letter
from relance.dunning import actions
from relance.dunning.models import Reminder, ReminderState
from relance.dunning.queries import org_today, sent_day


class NoLetters(LookupError):
    pass


def list_letters(org: Organisation, day: date):
    """The organisation's letters sent (handed to the letter backend) on `day`, in its time zone."""
    zone = ZoneInfo(org.time_zone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = start + timedelta(days=1)
    return (
        Reminder.objects.filter(organisation=org, channel="letter", state=ReminderState.SENT)
        .filter(Q(sent_at__gte=start, sent_at__lt=end) | Q(sent_at__isnull=True, run_date=day))
        .select_related("customer", "organisation")
        .order_by("-registered", "customer__name", "id")
    )


def _letter_html(reminder: Reminder) -> str:
    """The letter exactly as sent (its HTML is kept); rebuilt from today's data only if it was not."""
    if reminder.body_html:
        return reminder.body_html
    return build_letter(reminder, build_context(reminder))[1]


def build_batch(org: Organisation, day: date) -> bytes:
    """One PDF: the cover sheet listing the letters, then every letter of the day; NoLetters if none."""
    letters = list(list_letters(org, day))
    if not letters:
        raise NoLetters(f"{org.slug} : aucun courrier envoyé le {day.isoformat()}")
    rows = [{"id": r.pk, "lines": r.recipient.split("\n") if r.recipient else [r.customer.name],
             "registered": r.registered, "number": r.registered_number} for r in letters]
    cover = layout.cover_html(org.legal_name, day, rows, org.language)
    return layout.render_many([cover, *(_letter_html(r) for r in letters)])


def register_letter(reminder: Reminder, number: str, acknowledged_on: date | None = None) -> Reminder:
    """Record the registered-mail number (and the acknowledgement date once the AR is back)."""
    number = number.strip()
    if reminder.channel != "letter":
        raise ValueError(f"reminder {reminder.pk}: not a letter ({reminder.channel})")
    if not number:
        raise ValueError("registered-mail number: required")
    if acknowledged_on is not None:
        posted = sent_day(reminder)
        if acknowledged_on < posted:
            raise ValueError(f"acknowledgement date {acknowledged_on} is before the letter ({posted})")
        if acknowledged_on > org_today(reminder.organisation) + timedelta(days=1):
            raise ValueError(f"acknowledgement date {acknowledged_on} is in the future")
    locked = actions.record_registered_letter(reminder, number, acknowledged_on)
    _record_in_backend(locked)
    return locked


def _record_in_backend(reminder: Reminder) -> None:
    # The file backend keeps the number next to the PDF too; other providers track it themselves.
    backend = LetterChannel().backend(reminder)
    record = getattr(backend, "record", None)
    if record and reminder.provider_id:
        record(reminder.provider_id, reminder.registered_number, reminder.acknowledged_on)


def sync_registered_status(reminder: Reminder) -> Reminder:
    """Ask the registered-mail backend where the letter is and keep its number and AR date."""
    status = LetterChannel().backend(reminder).status(reminder.provider_id)
    return actions.update_registered_status(reminder, status.number, status.acknowledged_on)
