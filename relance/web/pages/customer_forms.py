"""The small forms of the customer and invoice pages (each button posts one; the action does the write)."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from relance.channels.phone.outcomes import OUTCOMES
from relance.dunning.models import CostKind
from relance.ledger.models import ContactKind, ContactRole, PaymentMethod
from relance.lib.money import CENT

OUTCOME_LABELS = {
    "reached_promise": pgettext_lazy("call outcome", "Reached: promise to pay"),
    "reached_dispute": pgettext_lazy("call outcome", "Reached: disputes the invoices"),
    "plan_requested": pgettext_lazy("call outcome", "Reached: asks for a payment plan"),
    "already_paid": pgettext_lazy("call outcome", "Reached: says it has paid"),
    "no_answer": pgettext_lazy("call outcome", "No answer"),
    "wrong_number": pgettext_lazy("call outcome", "Wrong number"),
}


class DateInput(forms.DateInput):
    input_type = "date"


class InvoiceChoiceMixin:
    """Forms that choose among the customer's invoices: the choices are given by the view."""

    def set_invoices(self, name: str, invoices) -> None:
        self.fields[name].choices = [(str(inv["pk"]), f'{inv["number"]}') for inv in invoices]


class PaymentForm(InvoiceChoiceMixin, forms.Form):
    date = forms.DateField(label=_("Date received"), widget=DateInput)
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2)
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference"), max_length=200, required=False)
    invoices = forms.MultipleChoiceField(
        label=_("Allocate to (the oldest first)"), required=False, widget=forms.CheckboxSelectMultiple)


class CallForm(InvoiceChoiceMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[(o, OUTCOME_LABELS[o]) for o in OUTCOMES])
    date = forms.DateField(label=_("Date (promise or payment)"), required=False, widget=DateInput)
    amount = forms.DecimalField(label=_("Amount (promise or payment)"), required=False, min_value=Decimal("0.01"),
                                max_digits=14, decimal_places=2)
    reason = forms.CharField(label=_("Reason of the dispute"), required=False, max_length=500)
    reference = forms.CharField(label=_("Payment reference"), required=False, max_length=200)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PromiseForm(InvoiceChoiceMixin, forms.Form):
    invoices = forms.MultipleChoiceField(label=_("Invoices"), widget=forms.CheckboxSelectMultiple)
    promised_date = forms.DateField(label=_("Promised date"), widget=DateInput)
    amount = forms.DecimalField(label=_("Amount (empty: the whole balance)"), required=False,
                                min_value=Decimal("0.01"), max_digits=14, decimal_places=2)


class DisputeForm(InvoiceChoiceMixin, forms.Form):
    invoice = forms.ChoiceField(label=_("Invoice"))
    reason = forms.CharField(label=_("Reason"), max_length=2000)


class CloseDisputeForm(InvoiceChoiceMixin, forms.Form):
    invoice = forms.ChoiceField(label=_("Invoice"))
    resolution = forms.CharField(label=_("Resolution"), required=False, max_length=2000)


class PlanForm(InvoiceChoiceMixin, forms.Form):
    invoices = forms.MultipleChoiceField(label=_("Invoices"), widget=forms.CheckboxSelectMultiple)
    count = forms.IntegerField(label=_("Number of monthly instalments"), min_value=1, max_value=36, initial=3)
    first_date = forms.DateField(label=_("First instalment on"), widget=DateInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class PauseForm(forms.Form):
    until = forms.DateField(label=_("Paused until"), widget=DateInput)
    reason = forms.CharField(label=_("Reason"), max_length=300)


class ContractRateForm(forms.Form):
    """The late-payment rate agreed with this customer (empty: the organisation's terms of sale)."""

    mode = forms.ChoiceField(label=pgettext_lazy("law", "Late-payment rate"), required=False, choices=[
        ("", pgettext_lazy("law", "The organisation's terms of sale")),
        ("percent", pgettext_lazy("law", "Yearly rate in percent")),
        ("legal_multiple", pgettext_lazy("law", "Times the legal interest rate")),
    ])
    value = forms.DecimalField(label=pgettext_lazy("law", "Value"), required=False, max_digits=6, decimal_places=3,
                               localize=True)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    invoice = forms.ChoiceField(label=_("About the invoice"), required=False)

    def set_invoices(self, name: str, invoices) -> None:
        self.fields[name].choices = [("", _("(none)"))] + [(str(i["pk"]), i["number"]) for i in invoices]


class CostForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=DateInput)
    kind = forms.ChoiceField(label=_("Kind of cost"), choices=CostKind.choices)
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2)
    label = forms.CharField(label=_("Label"), required=False, max_length=300)
    invoice = forms.ChoiceField(label=_("About the invoice"), required=False)
    document = forms.FileField(label=_("Supporting document"), required=False)

    def set_invoices(self, name: str, invoices) -> None:
        self.fields[name].choices = [("", _("(the whole debt)"))] + [(str(i["pk"]), i["number"]) for i in invoices]


class CostRemoveForm(forms.Form):
    cost = forms.IntegerField(widget=forms.HiddenInput)


class ContactForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ContactKind.choices)
    value = forms.CharField(label=_("Address or number"), max_length=500)
    role = forms.ChoiceField(label=_("Role"), choices=ContactRole.choices)
    name = forms.CharField(label=_("Name"), required=False, max_length=200)


class ContactUpdateForm(forms.Form):
    contact = forms.IntegerField(widget=forms.HiddenInput)
    value = forms.CharField(label=_("Address or number"), max_length=500)
    role = forms.ChoiceField(label=_("Role"), choices=ContactRole.choices)
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    valid = forms.BooleanField(label=_("Valid"), required=False)


class ContactRemoveForm(forms.Form):
    contact = forms.IntegerField(widget=forms.HiddenInput)


def spread(amount: Decimal, balances: list[Decimal]) -> list[Decimal]:
    """`amount` over these balances, the first first (each at most its balance); zeros left out by the caller."""
    out = []
    for balance in balances:
        share = min(amount, balance)
        out.append(max(share, Decimal("0")))
        amount -= max(share, Decimal("0"))
    return out


def monthly_instalments(total: Decimal, count: int, first: date) -> list[tuple[date, Decimal]]:
    """`count` monthly instalments of equal amounts (the cents left over on the last) from `first`."""
    share = (total / count).quantize(CENT, rounding="ROUND_DOWN")
    amounts = [share] * (count - 1) + [total - share * (count - 1)]
    out = []
    for n, amount in enumerate(amounts):
        year, month = divmod(first.month - 1 + n, 12)
        year, month = first.year + year, month + 1
        day = min(first.day, _last_day(year, month))
        out.append((date(year, month, day), amount))
    return out


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]
