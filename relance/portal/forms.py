"""The three answers a customer may give on the portal, as forms (labels in the customer's language)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from relance.portal.actions import proof_kind
from relance.web.templatetags.relance_format import money

DEFAULT_PROOF_MAX_BYTES = 5 * 1024 * 1024

DISPUTE_REASONS = [
    ("not_received", _("I did not receive the goods or the service")),
    ("defective", _("The goods or the service do not match the order")),
    ("wrong_amount", _("The amount is wrong")),
    ("not_ordered", _("I did not order this")),
    ("already_paid", _("I have already paid this invoice")),
    ("other", _("Another reason")),
]


def proof_max_bytes() -> int:
    return int(getattr(settings, "RELANCE_PORTAL_PROOF_MAX_BYTES", DEFAULT_PROOF_MAX_BYTES))


class InvoiceChoiceForm(forms.Form):
    """A form whose answer names some of the customer's open invoices."""

    invoices_required = False
    invoices = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False)

    def __init__(self, *args, invoices=(), today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_invoices = {str(inv.pk): inv for inv in invoices}
        self.today = today
        field = self.fields["invoices"]
        field.required = self.invoices_required
        field.choices = [
            (key, f"{inv.number} — {money(inv.open_balance, inv.currency)}") for key, inv in self.open_invoices.items()
        ]

    def chosen_invoices(self) -> list:
        """The invoices ticked; none ticked (where allowed) means all of them."""
        keys = self.cleaned_data.get("invoices") or list(self.open_invoices)
        return [self.open_invoices[k] for k in keys if k in self.open_invoices]


class PaidForm(InvoiceChoiceForm):
    prefix = "paid"
    paid_on = forms.DateField(label=_("Date of payment"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(label=_("Amount paid"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    proof = forms.FileField(label=_("Proof of payment (PDF, PNG or JPEG, optional)"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}))
    comment = forms.CharField(label=_("Comment (optional)"), required=False, max_length=2000, widget=forms.Textarea)

    field_order = ["paid_on", "amount", "invoices", "proof", "comment"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].label = _("Invoices paid (none ticked: all of them)")

    def clean_paid_on(self):
        day = self.cleaned_data["paid_on"]
        if self.today is not None and day > self.today:
            raise forms.ValidationError(_("The date of payment cannot be in the future."))
        return day

    def clean_proof(self):
        proof = self.cleaned_data.get("proof")
        if not proof:
            return None
        if proof.size > proof_max_bytes():
            raise forms.ValidationError(
                _("The file is too large (at most %(size)s).") % {"size": filesizeformat(proof_max_bytes())}
            )
        head = proof.read(16)
        proof.seek(0)
        if not proof_kind(proof.name or "", head):
            raise forms.ValidationError(_("Send a PDF, PNG or JPEG file."))
        return proof


class DisputeForm(InvoiceChoiceForm):
    prefix = "dispute"
    invoices_required = True
    reason = forms.ChoiceField(label=pgettext_lazy("portal form", "Reason"), choices=DISPUTE_REASONS)
    comment = forms.CharField(label=pgettext_lazy("portal form", "Comment"), required=False, max_length=2000,
                              widget=forms.Textarea)

    field_order = ["invoices", "reason", "comment"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].label = _("Invoices disputed")

    def clean(self):
        data = super().clean()
        if data.get("reason") == "other" and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Tell us why you dispute the invoice."))
        return data

    def reason_label(self) -> str:
        return str(dict(DISPUTE_REASONS).get(self.cleaned_data["reason"], self.cleaned_data["reason"]))


class PlanForm(InvoiceChoiceForm):
    prefix = "plan"
    instalments = forms.IntegerField(label=_("Number of monthly instalments proposed"), min_value=2, max_value=24,
                                     initial=3)
    comment = forms.CharField(label=_("Comment (optional)"), required=False, max_length=2000, widget=forms.Textarea)

    field_order = ["instalments", "invoices", "comment"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].label = _("Invoices concerned (none ticked: all of them)")


FORMS = {"paid": PaidForm, "dispute": DisputeForm, "plan": PlanForm}
