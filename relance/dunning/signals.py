"""Dunning's answers to the ledger's signals (connected in DunningConfig.ready)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from relance.accounts.models import Organisation
from relance.dunning import actions


def refresh_after_ledger_change(sender, organisation: Organisation, invoice_ids: Iterable[int], **kwargs) -> None:
    """Give the invoices an import created (or paid) their next dunning date, so that the next run
    does not take every new invoice for a candidate. After the import's commit: the ledger is right
    either way, and a run before this ends treats the new invoices as candidates, as it always could."""
    with transaction.atomic():
        # Looked up at call time: the import benchmark times this step by wrapping it.
        actions.refresh_next_dates(organisation, list(invoice_ids))
