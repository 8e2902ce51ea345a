"""What the ledger tells the apps built on it, without knowing them (dunning connects in its AppConfig)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after an import's commit with `organisation`, `invoice_ids` (the invoices it created or paid)
# and `insolvent_customer_ids` (customers the file says are under insolvency proceedings). Receivers
# run in the importer's thread; their errors reach the importer's caller.
ledger_changed = Signal()
