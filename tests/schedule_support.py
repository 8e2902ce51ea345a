"""Reading and setting invoices' dunning schedules (relance.dunning.models.InvoiceSchedule) in tests."""

from __future__ import annotations

from datetime import date

from relance.dunning.models import InvoiceSchedule
from relance.ledger.models import Invoice


def set_schedule(invoice: Invoice, last_step: str = "", last_date: date | None = None,
                 next_date: date | None = None) -> None:
    """Put the invoice where a running ledger would have it: `last_step` done on `last_date`."""
    InvoiceSchedule.objects.update_or_create(
        invoice_id=invoice.pk,
        defaults={"organisation_id": invoice.organisation_id, "last_step": last_step, "last_date": last_date,
                  "next_date": next_date},
    )
    Invoice.objects.filter(pk=invoice.pk).update(dunning_scheduled=True)


def schedule_of(invoice: Invoice) -> tuple[str, date | None, date | None]:
    """(last step, its date, next date); ("", None, None) when not scheduled."""
    row = InvoiceSchedule.objects.filter(pk=invoice.pk).values_list("last_step", "last_date", "next_date").first()
    return row or ("", None, None)


def next_date_of(invoice: Invoice) -> date | None:
    return schedule_of(invoice)[2]


def next_dates() -> dict[str, date | None]:
    """Each invoice's next dunning date, by number."""
    return dict(Invoice.objects.order_by("number").values_list("number", "schedule__next_date"))
