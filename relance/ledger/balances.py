"""The one place that writes an invoice's open balance and its payment status.

Invariant: open_balance == total - sum(allocations.amount), for every invoice, always. The ledger's
running totals (relance.ledger.totals) follow each change.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, DecimalField, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Round
from django.utils import timezone
from django.utils.translation import pgettext

from relance.accounts.permissions import WRITE, require
from relance.audit import log as audit_log
from relance.ledger import totals
from relance.ledger.models import (
    Allocation,
    AllocationSource,
    CreditNote,
    Invoice,
    InvoiceStatus,
    Payment,
)
from relance.lib.bulk import BulkInsert
from relance.lib.money import ZERO, MoneySum

# Statuses a person sets; payments do not move an invoice out of them.
STICKY = {InvoiceStatus.WRITTEN_OFF, InvoiceStatus.CANCELLED, InvoiceStatus.DISPUTED}


class AllocationError(ValueError):
    pass


def _beyond_balance(number: str, amount: Decimal, balance: Decimal) -> AllocationError:
    return AllocationError(pgettext("ledger", "invoice %(number)s: %(amount)s exceeds the open balance %(balance)s")
                           % {"number": number, "amount": amount, "balance": balance})


def _beyond_payment(payment_id: int, amount: Decimal) -> AllocationError:
    return AllocationError(pgettext("ledger", "payment %(id)s: %(amount)s exceeds the unallocated amount")
                           % {"id": payment_id, "amount": amount})


def status_for(total: Decimal, balance: Decimal, current: str = InvoiceStatus.OPEN) -> str:
    """The payment status an invoice with this total and open balance should show."""
    if current in STICKY and balance > 0:
        return current
    if balance <= 0:
        return InvoiceStatus.PAID
    if balance < total:
        return InvoiceStatus.PARTLY_PAID
    return InvoiceStatus.OPEN


def opening_balance(total: Decimal, already_paid: Decimal) -> Decimal:
    """Balance of a newly imported invoice whose source ledger says `already_paid`."""
    return total - already_paid


def refresh(invoice_ids: Iterable[int]) -> None:
    """Recompute open balance and status from the allocations, in the database."""
    ids = list(invoice_ids)
    if not ids:
        return
    allocated = (
        Allocation.objects.filter(invoice=OuterRef("pk"))
        .values("invoice")
        .annotate(s=MoneySum("amount"))
        .values("s")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    # Same rule as status_for(), in SQL, so that a refresh of many invoices is two UPDATEs.
    status = Case(
        When(Q(status__in=list(STICKY), open_balance__gt=0), then=F("status")),
        When(open_balance__lte=0, then=Value(InvoiceStatus.PAID.value)),
        When(open_balance__lt=F("total"), then=Value(InvoiceStatus.PARTLY_PAID.value)),
        default=Value(InvoiceStatus.OPEN.value),
    )
    for start in range(0, len(ids), 500):
        with totals.tracking(ids[start : start + 500]):
            chunk = Invoice.objects.filter(pk__in=ids[start : start + 500])
            # Rounded to the cent: SQLite sums decimals as binary floats (5776.69 + 837.94 is not
            # 6614.63 there), and a balance of 1e-12 would read 0.00 yet count as partly paid.
            chunk.update(
                open_balance=Round(F("total") - Coalesce(Subquery(allocated), Value(ZERO), output_field=money), 2)
            )
            chunk.update(status=status)


def payment_unallocated(payment: Payment) -> Decimal:
    used = payment.allocations.aggregate(s=MoneySum("amount"))["s"] or ZERO
    return payment.amount - used


def credit_note_unallocated(note: CreditNote) -> Decimal:
    used = note.allocations.aggregate(s=MoneySum("amount"))["s"] or ZERO
    return note.total - used


@transaction.atomic
def allocate(
    invoice: Invoice,
    amount: Decimal,
    *,
    payment: Payment | None = None,
    credit_note: CreditNote | None = None,
    user=None,
) -> Allocation:
    """Apply `amount` of a payment or credit note (or, with neither, of an outside settlement)."""
    require(user, invoice.organisation_id, WRITE)
    if amount <= 0:
        raise AllocationError(pgettext("ledger", "the allocated amount must be positive"))
    if payment is not None and credit_note is not None:
        raise AllocationError(pgettext("ledger", "an allocation comes from a payment or a credit note, not both"))
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if amount > invoice.open_balance:
        raise _beyond_balance(invoice.number, amount, invoice.open_balance)
    if payment is not None:
        source = AllocationSource.PAYMENT
        if payment.organisation_id != invoice.organisation_id:
            raise AllocationError(pgettext("ledger", "payment and invoice of different organisations"))
        if amount > payment_unallocated(payment):
            raise _beyond_payment(payment.pk, amount)
    elif credit_note is not None:
        source = AllocationSource.CREDIT_NOTE
        if credit_note.organisation_id != invoice.organisation_id:
            raise AllocationError(pgettext("ledger", "credit note and invoice of different organisations"))
        if amount > credit_note_unallocated(credit_note):
            raise AllocationError(pgettext("ledger", "credit note %(number)s: %(amount)s exceeds the unallocated "
                                           "amount") % {"number": credit_note.number, "amount": amount})
    else:
        source = AllocationSource.EXTERNAL
    allocation = Allocation.objects.create(
        invoice=invoice, source=source, payment=payment, credit_note=credit_note, amount=amount
    )
    audit_log.record("payment.allocated", allocation, user)
    refresh([invoice.pk])
    return allocation


@transaction.atomic
def unallocate(allocation: Allocation, user=None) -> None:
    """Take an allocation back: the invoice owes that amount again."""
    invoice_id = allocation.invoice_id
    require(user, Invoice.objects.filter(pk=invoice_id).values_list("organisation_id", flat=True).get(), WRITE)
    audit_log.record("allocation.removed", allocation, user, org=allocation.invoice.organisation_id)
    allocation.delete()
    refresh([invoice_id])


@transaction.atomic
def set_external_paid(invoice: Invoice, paid: Decimal) -> None:
    """Make the outside-settled part of an invoice equal `paid` (re-import of "Déjà payé")."""
    Allocation.objects.filter(invoice=invoice, source=AllocationSource.EXTERNAL).delete()
    if paid > 0:
        Allocation.objects.create(invoice=invoice, source=AllocationSource.EXTERNAL, amount=paid)
    refresh([invoice.pk])


@transaction.atomic
def record_payment(payment: Payment, user=None) -> Payment:
    """Save a new payment, not yet allocated (allocate() applies it to invoices)."""
    require(user, payment.organisation_id, WRITE)
    check_new_payment(payment)
    payment.save()
    audit_log.record("payment.recorded", payment, user)
    return payment


def check_new_payment(payment: Payment) -> None:
    """Raise AllocationError when this unsaved payment may not be recorded (a form calls it to show why)."""
    if payment.pk is not None:
        raise AllocationError(pgettext("ledger", "payment %(id)s: already saved") % {"id": payment.pk})
    if payment.amount is None or payment.amount <= 0:
        raise AllocationError(pgettext("ledger", "payment of %(date)s: the amount must be positive")
                              % {"date": payment.date})
    if payment.customer_id is not None and payment.customer.organisation_id != payment.organisation_id:
        raise AllocationError(pgettext("ledger", "payment and customer of different organisations"))


@transaction.atomic
def delete_payment(payment: Payment, user=None) -> None:
    """Delete a payment and its allocations: the invoices it paid owe that amount again."""
    require(user, payment.organisation_id, WRITE)
    invoice_ids = list(payment.allocations.values_list("invoice_id", flat=True))
    audit_log.record("payment.deleted", payment, user, {"invoices": audit_log.numbers(invoice_ids)})
    payment.delete()  # its allocations go with it (CASCADE)
    refresh(invoice_ids)


def set_disputed(invoice: Invoice, disputed: bool) -> None:
    """Put an owed invoice in dispute, or take it out (back to the status its balance gives)."""
    with totals.tracking([invoice.pk]):
        if disputed and invoice.open_balance > 0:
            Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.DISPUTED)
        elif not disputed and invoice.status == InvoiceStatus.DISPUTED:
            Invoice.objects.filter(pk=invoice.pk).update(status=status_for(invoice.total, invoice.open_balance))
@transaction.atomic
def allocate_many(organisation_id: int, rows: Iterable[tuple[int, int, Decimal]], user=None) -> int:
    """Apply many (payment id, invoice id, amount) at once, with allocate()'s checks, all or nothing.

    The invoices are locked and read once, the allocations written in bulk (lib/bulk.py), the balances
    recomputed by refresh(): the invariant holds as with allocate()."""
    require(user, organisation_id, WRITE)
    rows = list(rows)
    if not rows:
        return 0
    invoice_ids = {invoice_id for _, invoice_id, _ in rows}
    payment_ids = {payment_id for payment_id, _, _ in rows}
    invoices: dict[int, tuple[str, Decimal]] = {}
    for start in range(0, len(invoice_ids), 500):
        chunk = sorted(invoice_ids)[start : start + 500]
        locked = Invoice.objects.select_for_update().filter(pk__in=chunk, organisation_id=organisation_id)
        invoices.update({pk: (number, balance) for pk, number, balance in
                         locked.values_list("pk", "number", "open_balance")})
    left: dict[int, Decimal] = {}
    for start in range(0, len(payment_ids), 500):
        chunk = sorted(payment_ids)[start : start + 500]
        payments = (Payment.objects.select_for_update().filter(pk__in=chunk, organisation_id=organisation_id)
                    .values_list("pk", "amount"))
        left.update(dict(payments))
        used = (Allocation.objects.filter(payment_id__in=chunk).values("payment_id").order_by()
                .annotate(s=MoneySum("amount")).values_list("payment_id", "s"))
        for payment_id, total in used:
            left[payment_id] -= total
    balance = {pk: b for pk, (_, b) in invoices.items()}
    for payment_id, invoice_id, amount in rows:
        if invoice_id not in invoices:
            raise AllocationError(pgettext("ledger", "invoice %(id)s: not found in this organisation")
                                  % {"id": invoice_id})
        if payment_id not in left:
            raise AllocationError(pgettext("ledger", "payment %(id)s: not found in this organisation")
                                  % {"id": payment_id})
        if amount <= 0:
            raise AllocationError(pgettext("ledger", "the allocated amount must be positive"))
        if amount > balance[invoice_id]:
            raise _beyond_balance(invoices[invoice_id][0], amount, balance[invoice_id])
        if amount > left[payment_id]:
            raise _beyond_payment(payment_id, amount)
        balance[invoice_id] -= amount
        left[payment_id] -= amount
    BulkInsert(Allocation, ["invoice_id", "source", "payment_id", "amount"]).insert(
        [(i, AllocationSource.PAYMENT.value, p, a) for p, i, a in rows])
    refresh(invoice_ids)
    return len(rows)


def write_off(invoice_ids: Iterable[int]) -> None:
    """Mark these invoices written off: their open balance stays (the amount lost), they leave the
    receivables (and the running totals) and no reminder follows."""
    ids = list(invoice_ids)
    with totals.tracking(ids):
        Invoice.objects.filter(pk__in=ids).update(status=InvoiceStatus.WRITTEN_OFF, updated_at=timezone.now())
