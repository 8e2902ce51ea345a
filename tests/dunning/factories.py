"""Plain planner states for the pure tests (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from relance.dunning.defaults import default_config
from relance.dunning.state import ALL_CHANNELS, CustomerState, InvoiceState, Policy

CONFIG = default_config()
POLICY = Policy()
DUE = date(2026, 6, 30)  # a Tuesday
ISSUE = date(2026, 5, 31)


def customer(id: int = 1, **kw) -> CustomerState:
    kw.setdefault("external_id", f"C{id:03d}")
    kw.setdefault("channels", ALL_CHANNELS)
    return CustomerState(id=id, **kw)


def invoice(id: int = 1, customer_id: int = 1, balance: str = "1200.00", **kw) -> InvoiceState:
    kw.setdefault("number", f"F{id:05d}")
    kw.setdefault("issue_date", ISSUE)
    kw.setdefault("due_date", DUE)
    return InvoiceState(id=id, customer_id=customer_id, balance=Decimal(balance), **kw)


def d(text: str) -> date:
    return date.fromisoformat(text)
