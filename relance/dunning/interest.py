"""The late-payment claim of an invoice as dunning knows it: the ledger's computation plus the date of
the formal notice (a consumer owes interest from it only). Read-only."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from django.utils import timezone

from relance.dunning.models import Reminder, ReminderState, Tone
from relance.law.late_payment import CONSUMER
from relance.ledger.interest import InvoiceClaim, compute_invoice_claim
from relance.ledger.models import Invoice


def get_notice_date(invoice: Invoice) -> date | None:
    """The day (organisation's time zone) the first formal notice including this invoice was sent."""
    sent = (Reminder.objects.filter(lines__invoice=invoice, tone=Tone.FORMAL, state=ReminderState.SENT,
                                    sent_at__isnull=False)
            .order_by("sent_at").values_list("sent_at", flat=True).first())
    return timezone.localtime(sent, ZoneInfo(invoice.organisation.time_zone)).date() if sent else None


def get_invoice_claim(invoice: Invoice, as_of: date) -> InvoiceClaim:
    """Periods, interest, indemnity and total claimed on `as_of` (relance interest, the invoice page, letters)."""
    notice = get_notice_date(invoice) if invoice.customer.kind == CONSUMER else None
    return compute_invoice_claim(invoice, as_of, notice)
