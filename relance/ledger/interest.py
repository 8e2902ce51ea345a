"""Reads for the late-payment law: the dated reductions of an invoice, its terms, its claim. Read-only.

The consumer's formal-notice date is dunning's to know: callers get the claim through
relance.dunning.interest.get_invoice_claim, which passes it here.

An allocation's date is the date of what it allocates: the payment's date, the credit note's
date. An "external" allocation (settled in the source ledger before import, no row to point
to) is dated on the day the invoice was imported (its import batch, else its creation): the
only date Relance knows; the base is therefore lowered from the day after the import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.law.late_payment import (
    CONSUMER,
    ContractRate,
    LateInterest,
    Reduction,
    fixed_indemnity,
    late_interest_on_balance,
)
from relance.ledger.models import Allocation, AllocationSource, Customer, Invoice, InvoiceStatus
from relance.lib.money import cents


@dataclass(frozen=True)
class InvoiceClaim:
    invoice: str
    as_of: date
    principal: Decimal  # the open balance on `as_of` (total less the reductions dated up to that day)
    interest: LateInterest
    indemnity: Decimal
    total: Decimal  # principal + interest + indemnity: the total claimed

    def as_json(self) -> dict:
        """The breakdown as `relance interest --json` prints it (amounts as strings, two decimals)."""
        return {
            "invoice": self.invoice,
            "as_of": self.as_of.isoformat(),
            "periods": [
                {"start": p.start.isoformat(), "end": p.end.isoformat(), "days": p.days, "base": f"{p.base:.2f}",
                 "rate": f"{p.rate:.2f}", "amount": f"{p.amount:.2f}"}
                for p in self.interest.periods
            ],
            "interest": f"{self.interest.amount:.2f}",
            "indemnity": f"{self.indemnity:.2f}",
            "total": f"{self.total:.2f}",
        }


def _local_day(moment, org: Organisation) -> date:
    return timezone.localtime(moment, ZoneInfo(org.time_zone)).date()


def list_reductions(invoice: Invoice) -> list[Reduction]:
    """What lowered the invoice's balance, each with its date (see the module docstring), oldest first."""
    imported = invoice.source_import.started_at if invoice.source_import_id else invoice.created_at
    out = []
    if "allocations" in getattr(invoice, "_prefetched_objects_cache", {}):  # see prefetch_for_claims
        allocations = sorted(invoice.allocations.all(), key=lambda a: a.id)
    else:
        allocations = invoice.allocations.select_related("payment", "credit_note").order_by("id")
    for allocation in allocations:
        if allocation.source == AllocationSource.PAYMENT:
            day = allocation.payment.date
        elif allocation.source == AllocationSource.CREDIT_NOTE:
            day = allocation.credit_note.date
        else:
            day = _local_day(imported, invoice.organisation)
        out.append(Reduction(day, allocation.amount))
    return sorted(out, key=lambda r: r.day)


def prefetch_for_claims(invoices: list[Invoice]) -> None:
    """Read what the claims of many invoices need in a few queries (not a few per invoice)."""
    prefetch_related_objects(
        invoices, "customer__organisation", "organisation", "source_import",
        Prefetch("allocations", queryset=Allocation.objects.select_related("payment", "credit_note")))


def _contract(mode: str, value: Decimal | None) -> ContractRate | None:
    if not mode or value is None:
        return None
    return ContractRate(percent=value) if mode == "percent" else ContractRate(legal_multiple=value)


def get_contract_rate(customer: Customer) -> ContractRate | None:
    """The rate agreed with the customer, else the organisation's terms of sale, else None (the law's)."""
    own = _contract(customer.late_rate_mode, customer.late_rate_value)
    if own is not None:
        return own
    return _contract(customer.organisation.late_rate_mode, customer.organisation.late_rate_value)


def compute_invoice_claim(invoice: Invoice, as_of: date, notice_date: date | None = None) -> InvoiceClaim:
    """Interest on the open balance of each day up to `as_of`, the fixed indemnity, and their sum.

    `notice_date`: the formal notice's day, from which a consumer owes interest (None: no notice)."""
    customer = invoice.customer
    kind = customer.kind
    notice = notice_date if kind == CONSUMER else None
    reductions = list_reductions(invoice)
    # D441-5: the indemnity is owed once a payment is late, i.e. something was still open after the due date.
    open_at_due = invoice.total - sum((r.amount for r in reductions if r.day <= invoice.due_date), Decimal(0))
    interest = late_interest_on_balance(
        invoice.total, invoice.due_date, as_of, kind, reductions,
        notice_date=notice, contract_rate=get_contract_rate(customer),
    )
    late = as_of > invoice.due_date and open_at_due > 0 and invoice.status != InvoiceStatus.CANCELLED
    indemnity = cents(fixed_indemnity(kind, 1 if late else 0))
    principal = max(invoice.total - sum((r.amount for r in reductions if r.day <= as_of), Decimal(0)), Decimal(0))
    principal = cents(principal)
    return InvoiceClaim(invoice.number, as_of, principal, interest, indemnity, principal + interest.amount + indemnity)
