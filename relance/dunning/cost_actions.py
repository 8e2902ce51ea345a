"""Recovery costs incurred on a customer's debt: record one (with its supporting document), remove one.
Re-exported by relance.dunning.actions; the claim (relance.dossier.claim) reads them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import PurePath

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from relance.accounts.permissions import WRITE, require
from relance.audit import log as audit_log
from relance.dunning.models import CostKind, RecoveryCost
from relance.dunning.run import DunningError
from relance.ledger.models import Customer, Invoice
from relance.lib.money import cents

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


@transaction.atomic
def record_cost(customer: Customer, day: date, kind: str, amount: Decimal, label: str = "",
                invoice: Invoice | None = None, document: tuple[str, bytes] | None = None,
                user=None) -> RecoveryCost:
    """A recovery cost incurred on the customer's debt (about one invoice, or the whole debt), with its
    supporting document as (file name, bytes)."""
    require(user, customer.organisation_id, WRITE)
    if kind not in CostKind.values:
        raise DunningError(_("Unknown kind of cost {kind!r}; expected one of {kinds}.").format(
            kind=kind, kinds=", ".join(CostKind.values)))
    if amount is None or cents(amount) <= 0:
        raise DunningError(_("A cost's amount must be above zero."))
    if invoice is not None and invoice.customer_id != customer.pk:
        raise DunningError(_("Invoice {number} is not this customer's.").format(number=invoice.number))
    cost = RecoveryCost(organisation_id=customer.organisation_id, customer=customer, invoice=invoice, date=day,
                        kind=kind, amount=cents(amount), label=label.strip()[:300], created_by=user)
    if document is not None:
        name, content = document
        if not content:
            raise DunningError(_("The supporting document is empty."))
        if len(content) > MAX_DOCUMENT_BYTES:
            raise DunningError(_("The supporting document is over 20 MB."))
        cost.document.save(PurePath(name).name or "justificatif", ContentFile(content), save=False)
    cost.save()
    audit_log.record("cost.recorded", cost, user, {"document": cost.document.name})
    return cost


@transaction.atomic
def remove_cost(cost: RecoveryCost, user=None) -> None:
    """Remove a cost recorded by mistake (the audit log keeps what it was; its document stays on disk)."""
    require(user, cost.organisation_id, WRITE)
    audit_log.record("cost.removed", cost, user, {"document": cost.document.name})
    cost.delete()
