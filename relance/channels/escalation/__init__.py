"""The escalation step: what comes after the formal notice, produced as documents, not a to-do title.

A scenario step on the `escalation` channel names its kind in its template field (one of KINDS). The
daily run plans it as a reminder (the outbox row, no contact needed); delivery re-checks its invoices
with the planner's rule, then the channel renders the documents and its backend stores them and opens
the task of the Today inbox (the reminder shows on the customer's timeline with its documents).
"""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

ORDER_FOR_PAYMENT = "order_for_payment"  # requête en injonction de payer
SMALL_CLAIMS = "small_claims"  # procédure simplifiée de recouvrement des petites créances
COLLECTION_AGENCY = "collection_agency"  # file for a collection agency or credit insurer
WRITE_OFF = "write_off"  # proposal to the owner to write the invoices off

KINDS = {
    ORDER_FOR_PAYMENT: pgettext_lazy("escalation", "Order for payment (injonction de payer)"),
    SMALL_CLAIMS: pgettext_lazy("escalation", "Small claims procedure (commissaire de justice)"),
    COLLECTION_AGENCY: pgettext_lazy("escalation", "Collection agency or credit insurer file"),
    WRITE_OFF: pgettext_lazy("escalation", "Write-off proposal"),
}
