"""Applying a credit note: to the invoice it names, up to what that invoice still owes; the rest is customer credit.

Both importers of credit notes (CSV/XLSX and e-invoices) call these; the allocations themselves go
through `relance.ledger.balances`, the one writer of open balances.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from relance.ledger import balances
from relance.ledger.models import CreditNote, Invoice
from relance.lib.money import ZERO


@transaction.atomic
def apply_credit_note(note: CreditNote, user=None) -> Decimal:
    """Allocate what the note still holds to its invoice (if any); returns the amount applied now."""
    if note.invoice_id is None:
        return ZERO
    owed = Invoice.objects.values_list("open_balance", flat=True).get(pk=note.invoice_id)
    amount = min(balances.credit_note_unallocated(note), owed)
    if amount <= ZERO:
        return ZERO
    balances.allocate(note.invoice, amount, credit_note=note, user=user)
    return amount


@transaction.atomic
def withdraw_credit_note(note: CreditNote, user=None) -> None:
    """Take back every allocation of the note (before its amount or invoice changes)."""
    for allocation in list(note.allocations.all()):
        balances.unallocate(allocation, user=user)


def customer_credit(note: CreditNote) -> Decimal:
    """What the note leaves to the customer's credit (not applied to any invoice)."""
    return balances.credit_note_unallocated(note)
