"""What people read for the engine's keys, through gettext (English source, French catalogue): the
pure core (rules.py) returns keys, this module words them."""

from __future__ import annotations

from datetime import date

from django.utils import translation
from django.utils.translation import pgettext_lazy

from relance.dunning.rules import hold_reason
from relance.dunning.state import CustomerState, InvoiceState, Policy

STATUS_LABELS = {
    "to_warn": pgettext_lazy("invoice status", "Due soon"),
    "to_remind": pgettext_lazy("invoice status", "To remind"),
    "to_formalise": pgettext_lazy("invoice status", "Formal notice"),
    "disputed": pgettext_lazy("invoice status", "Disputed"),
    "promise": pgettext_lazy("invoice status", "Promise to pay"),
    "plan": pgettext_lazy("invoice status", "Payment plan"),
    "paused": pgettext_lazy("invoice status", "Paused"),
    "settled": pgettext_lazy("invoice status", "Settled"),
    "not_due": pgettext_lazy("invoice status", "Not yet due"),
    "insolvency": pgettext_lazy("invoice status", "Insolvency proceedings"),
    "portal": pgettext_lazy("invoice status", "Customer answer to review"),
}


def status_label(status: str, language: str = "fr") -> str:
    """The words of an invoice status (rules.invoice_status) in `language`."""
    with translation.override(language):
        return str(STATUS_LABELS[status])


# ---- web: customer page ----
# The status an invoice shows on the customer and invoice pages: hold_reason's verdict first (the one
# eligibility rule), then where the invoice stands in its scenario.
PAGE_STATUS_LABELS = {
    "to_warn": pgettext_lazy("invoice page status", "To warn"),
    "to_remind": pgettext_lazy("invoice page status", "To remind"),
    "to_formalise": pgettext_lazy("invoice page status", "To formalise"),
    "disputed": pgettext_lazy("invoice page status", "Disputed"),
    "promise": pgettext_lazy("invoice page status", "Promise"),
    "plan": pgettext_lazy("invoice page status", "Payment plan"),
    "paused": pgettext_lazy("invoice page status", "Paused"),
    "settled": pgettext_lazy("invoice page status", "Settled"),
    "insolvency": pgettext_lazy("invoice page status", "Insolvency proceedings"),
}
# The badge class of each status (web/relance.css: ok, warn, bad).
PAGE_STATUS_BADGES = {
    "to_warn": "", "to_remind": "warn", "to_formalise": "bad", "disputed": "bad", "promise": "ok", "plan": "ok",
    "paused": "", "settled": "ok", "insolvency": "bad",
}
# hold_reason's verdicts that are a status of their own; "below_minimum" is not (the invoice shows
# where its dates put it, it is simply never reminded).
_HOLD_STATUSES = frozenset({"settled", "disputed", "plan", "insolvency", "promise", "paused"})


def page_status(hold: str, due_date: date, today: date, formal: bool) -> str:
    """The key (PAGE_STATUS_LABELS) of an invoice's status on the pages.

    `hold`: rules.hold_reason's verdict for the invoice today; `formal`: its schedule reached a
    formal step (formal notice) or a reminder of it awaits approval."""
    if hold in _HOLD_STATUSES:
        return hold
    if formal:
        return "to_formalise"
    if due_date < today:
        return "to_remind"
    return "to_warn"


def invoice_page_status(
    inv: InvoiceState, customer: CustomerState, today: date, policy: Policy, formal: bool = False
) -> str:
    """An invoice's status on the pages, from rules.hold_reason (never a copy of it) and its dates."""
    return page_status(hold_reason(inv, customer, today, policy), inv.due_date, today, formal)


def page_status_label(status: str) -> str:
    return str(PAGE_STATUS_LABELS[status])
