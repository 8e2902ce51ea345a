"""What people read for the engine's keys, through gettext (English source, French catalogue): the
pure core (rules.py) returns keys, this module words them."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import pgettext_lazy

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
