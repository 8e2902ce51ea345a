"""Dunning's answers to the ledger's signals (connected in DunningConfig.ready)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from relance.accounts.models import Organisation
from relance.dunning import actions
from relance.ledger.models import Customer


def refresh_after_ledger_change(sender, organisation: Organisation, invoice_ids: Iterable[int] = (),
                                insolvent_customer_ids: Iterable[int] = (), **kwargs) -> None:
    """Give the invoices an import created (or paid) their next dunning date, so that the next run
    does not take every new invoice for a candidate, and record the insolvency proceedings the file
    states (no reminder for earlier claims, a task to declare them; once per judgment). After the
    import's commit: the ledger is right either way, and a run before this ends treats the new
    invoices as candidates, as it always could."""
    for customer in Customer.objects.filter(organisation=organisation, pk__in=list(insolvent_customer_ids),
                                            in_insolvency=True, insolvency_date__isnull=False):
        actions.open_insolvency(customer, customer.insolvency_date, customer.insolvency_kind)
    invoice_ids = list(invoice_ids)
    if invoice_ids:
        with transaction.atomic():
            # Looked up at call time: the import benchmark times this step by wrapping it.
            actions.refresh_next_dates(organisation, invoice_ids)
