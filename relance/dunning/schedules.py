"""The invoices' dunning schedule (InvoiceSchedule rows): written by the daily run, and by the
actions that move next dates (after an import, a promise, a dispute, a plan, a pause)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from relance.dunning.models import InvoiceSchedule
from relance.dunning.state import Advance
from relance.ledger.models import Invoice
from relance.lib.bulk import update_rows, upsert_rows
from relance.lib.db import chunks

FIELDS = ["invoice_id", "organisation_id", "last_step", "last_date", "next_date"]


def write_schedules(org_id: int, advances: Iterable[Advance], unscheduled: Collection[int] | None = None) -> None:
    """Store the invoices' dunning state after these advances.

    An advance with a step done sets the whole state; one without sets the next date only (the
    history stays). An invoice left with no step done and no next date leaves the schedule: should
    it open again, the run finds it among the invoices never scheduled.
    `unscheduled`: those of the invoices that may not be in the schedule yet (None: any of them);
    they are marked scheduled (Invoice.dunning_scheduled).
    """
    # By key, each invoice once (its last advance), in key order: the writes walk the index once.
    by_id = {a.invoice_id: a for a in advances}
    ordered = [by_id[iid] for iid in sorted(by_id)]
    full = [(a.invoice_id, org_id, a.last_step, a.last_date, a.next_date)
            for a in ordered if a.last_step or a.last_date]
    next_only = [(a.invoice_id, org_id, "", None, a.next_date)
                 for a in ordered if not (a.last_step or a.last_date) and a.next_date]
    cleared = [a.invoice_id for a in ordered if not (a.last_step or a.last_date) and a.next_date is None]
    upsert_rows(InvoiceSchedule, FIELDS, full, ["last_step", "last_date", "next_date"])
    upsert_rows(InvoiceSchedule, FIELDS, next_only, ["next_date"])
    for chunk in chunks(cleared):
        InvoiceSchedule.objects.filter(pk__in=chunk).update(next_date=None)
        gone = list(InvoiceSchedule.objects.filter(pk__in=chunk, last_step="").values_list("pk", flat=True))
        if gone:
            InvoiceSchedule.objects.filter(pk__in=gone).delete()
            Invoice.objects.filter(pk__in=gone).update(dunning_scheduled=False)
    added = sorted({row[0] for row in full} | {row[0] for row in next_only})
    if unscheduled is None:
        # Unknown: read which are not marked yet (an import's hook may name a million invoices).
        unscheduled = set()
        for chunk in chunks(added):
            unscheduled.update(
                Invoice.objects.filter(pk__in=chunk, dunning_scheduled=False).values_list("pk", flat=True)
            )
    update_rows(Invoice, ["dunning_scheduled"], [(True, iid) for iid in added if iid in unscheduled])
