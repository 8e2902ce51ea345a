"""Ledger admin: customer data is edited here; balances, statuses, pauses, insolvency and risk scores only
through relance.ledger.balances and relance.dunning.actions (the CLI's functions)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from relance.dunning import actions
from relance.ledger import balances
from relance.ledger.models import (
    Allocation,
    Contact,
    CreditNote,
    Customer,
    DayTotals,
    EInvoice,
    ImportBatch,
    InsolvencyKind,
    Invoice,
    InvoiceStatus,
    KnownPayer,
    MatchProposal,
    MatchSettings,
    Payment,
    TotalsDate,
)
from relance.web.admin_actions import REFUSALS, ObjectAction, ObjectActionsMixin, ReadOnlyAdmin, ReadOnlyInline

# --- customer actions ---------------------------------------------------------------------------


class PauseCustomer(ObjectAction):
    label = "suspendre les relances"
    done = "relances suspendues"
    until = forms.DateField(label="jusqu'au (inclus)")
    reason = forms.CharField(label="motif", max_length=300)

    def run(self, customer, user):
        actions.pause_customer(customer, self.cleaned_data["until"], self.cleaned_data["reason"], user=user)


class ResumeCustomer(ObjectAction):
    label = "reprendre les relances"
    done = "relances reprises"

    @classmethod
    def applies_to(cls, customer) -> bool:
        return customer.paused_until is not None

    def run(self, customer, user):
        actions.resume_customer(customer, user=user)


class OpenInsolvency(ObjectAction):
    label = "déclarer une procédure collective"
    done = "procédure collective enregistrée"
    judgment_date = forms.DateField(label="date du jugement d'ouverture")
    kind = forms.ChoiceField(label="type de procédure", choices=[("", "—"), *InsolvencyKind.choices], required=False)

    @classmethod
    def applies_to(cls, customer) -> bool:
        return not customer.in_insolvency

    def run(self, customer, user):
        actions.open_insolvency(customer, self.cleaned_data["judgment_date"], kind=self.cleaned_data["kind"],
                                user=user)


class CloseInsolvency(ObjectAction):
    label = "clore la procédure collective"
    done = "procédure collective close"

    @classmethod
    def applies_to(cls, customer) -> bool:
        return customer.in_insolvency

    def run(self, customer, user):
        actions.close_insolvency(customer, user=user)


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Customer)
class CustomerAdmin(ObjectActionsMixin, admin.ModelAdmin):
    list_display = ["external_id", "name", "kind", "organisation", "strategic", "risk_segment", "status"]
    list_filter = ["organisation", "kind", "strategic", "risk_segment", "in_insolvency"]
    search_fields = ["external_id", "name", "siren"]
    inlines = [ContactInline]

    @admin.display(description="statut")
    def status(self, customer: Customer) -> str:
        return customer.status_label  # "Procédure collective", "En pause" or nothing

    object_actions = {"pause": PauseCustomer, "resume": ResumeCustomer,
                      "insolvency-open": OpenInsolvency, "insolvency-close": CloseInsolvency}
    # Written by the engine (risk) or by the actions above (pause, insolvency).
    readonly_fields = ["action_links", "risk_segment", "risk_reasons", "paused_until", "pause_reason",
                       "in_insolvency", "insolvency_date", "insolvency_kind"]

    def get_readonly_fields(self, request, obj=None):
        # The organisation is chosen once: moving a customer would leave its invoices behind.
        return [*self.readonly_fields, "organisation"] if obj is not None else self.readonly_fields


# --- invoice actions ----------------------------------------------------------------------------


class Allocate(ObjectAction):
    label = "affecter un paiement ou un avoir"
    done = "affectation enregistrée"
    amount = forms.DecimalField(label="montant", max_digits=14, decimal_places=2, min_value=0)
    payment = forms.ModelChoiceField(label="paiement", queryset=Payment.objects.none(), required=False)
    credit_note = forms.ModelChoiceField(label="avoir", queryset=CreditNote.objects.none(), required=False,
                                         help_text="ni paiement ni avoir : réglé hors Relance")

    def __init__(self, invoice, *args, **kwargs):
        super().__init__(invoice, *args, **kwargs)
        self.fields["payment"].queryset = Payment.objects.filter(organisation_id=invoice.organisation_id)
        self.fields["credit_note"].queryset = CreditNote.objects.filter(customer_id=invoice.customer_id)

    @classmethod
    def applies_to(cls, invoice) -> bool:
        return invoice.open_balance > 0

    def run(self, invoice, user):
        data = self.cleaned_data
        balances.allocate(invoice, data["amount"], payment=data["payment"], credit_note=data["credit_note"],
                          user=user)


class OpenDispute(ObjectAction):
    label = "ouvrir un litige"
    done = "litige ouvert"
    reason = forms.CharField(label="motif", widget=forms.Textarea)

    @classmethod
    def applies_to(cls, invoice) -> bool:
        return invoice.status != InvoiceStatus.DISPUTED

    def run(self, invoice, user):
        actions.open_dispute(invoice, self.cleaned_data["reason"], user=user)


class CloseDispute(ObjectAction):
    label = "clore le litige"
    done = "litige clos"
    resolution = forms.CharField(label="résolution", widget=forms.Textarea, required=False)

    @classmethod
    def applies_to(cls, invoice) -> bool:
        return invoice.disputes.filter(is_open=True).exists()

    def run(self, invoice, user):
        actions.close_dispute(invoice, self.cleaned_data["resolution"], user=user)


class RecordPromise(ObjectAction):
    label = "enregistrer une promesse de paiement"
    done = "promesse enregistrée"
    promised_date = forms.DateField(label="date promise")
    amount = forms.DecimalField(label="montant (vide : tout le solde)", max_digits=14, decimal_places=2,
                                required=False)

    @classmethod
    def applies_to(cls, invoice) -> bool:
        return invoice.open_balance > 0

    def run(self, invoice, user):
        actions.record_promise(invoice, self.cleaned_data["promised_date"], self.cleaned_data["amount"], user=user)


class AllocationInline(ReadOnlyInline):
    model = Allocation
    fields = ["source", "payment", "credit_note", "amount", "created_at"]
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """Invoices come from imports; their balance and status from allocations and actions, never typed in."""

    list_display = ["number", "customer", "issue_date", "due_date", "total", "open_balance", "status"]
    list_filter = ["organisation", "status"]
    search_fields = ["number", "customer__name", "customer__external_id"]
    readonly_fields = ["action_links", "dunning_state"]
    inlines = [AllocationInline]
    object_actions = {"allocate": Allocate, "promise": RecordPromise, "dispute-open": OpenDispute,
                      "dispute-close": CloseDispute}

    @admin.display(description="relance")
    def dunning_state(self, obj: Invoice) -> str:
        schedule = getattr(obj, "schedule", None) if obj.pk else None  # the engine's row, when scheduled
        if schedule is None:
            return "pas encore planifiée"
        done = "aucune étape faite"
        if schedule.last_date:
            done = f"dernière étape {schedule.last_step} le {schedule.last_date:%d/%m/%Y}"
        coming = f"prochaine le {schedule.next_date:%d/%m/%Y}" if schedule.next_date else "pas de prochaine étape"
        return f"{done} ; {coming}"


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    # Imported with the invoices; applied to them through an invoice's "affecter" action.
    list_display = ["number", "customer", "date", "total"]


class DeleteThroughBalances:
    """Deletion by the admin (one object or the bulk action) through a balances function."""

    def delete_through(self, obj, user) -> None:
        raise NotImplementedError

    def delete_model(self, request, obj):
        self.delete_through(obj, request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_through(obj, request.user)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            with transaction.atomic():
                return super().delete_view(request, object_id, extra_context)
        except REFUSALS as exc:
            self.message_user(request, str(exc), messages.ERROR)
            meta = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))


class PaymentForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields (ModelAdmin.get_fields)

    def _post_clean(self):
        super()._post_clean()
        if self.instance.pk is None and not self.errors:
            try:
                balances.check_new_payment(self.instance)  # the same check record_payment() makes
            except balances.AllocationError as exc:
                self.add_error(None, str(exc))


@admin.register(Payment)
class PaymentAdmin(DeleteThroughBalances, admin.ModelAdmin):
    form = PaymentForm
    list_display = ["date", "amount", "customer", "method", "reference", "bank_transaction_id"]
    list_filter = ["organisation", "method"]
    search_fields = ["reference", "payer_name", "bank_transaction_id"]
    raw_id_fields = ["customer"]

    def get_readonly_fields(self, request, obj=None):
        # Once recorded, what was paid is fixed: delete the payment (its allocations go with it) instead.
        if obj is None:
            return ["source_import"]
        return ["organisation", "customer", "date", "amount", "currency", "source_import", "bank_transaction_id"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()  # descriptive fields only (reference, payer...), see get_readonly_fields
            return
        balances.record_payment(obj, user=request.user)

    def delete_through(self, obj, user):
        balances.delete_payment(obj, user=user)


@admin.register(Allocation)
class AllocationAdmin(DeleteThroughBalances, admin.ModelAdmin):
    """Allocations are made from an invoice (action "affecter"); deleting one reopens the invoice."""

    list_display = ["invoice", "source", "payment", "credit_note", "amount"]
    readonly_fields = ["invoice", "source", "payment", "credit_note", "amount"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_through(self, obj, user):
        balances.unallocate(obj, user=user)


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = ["kind", "filename", "organisation", "created", "updated", "unchanged", "started_at"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "value", "role", "valid"]
    raw_id_fields = ["customer"]



@admin.register(DayTotals)
class DayTotalsAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "day", "due_open_amount", "due_open_count", "invoiced_amount"]
    list_filter = ["organisation"]


@admin.register(TotalsDate)
class TotalsDateAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "as_of"]


@admin.register(EInvoice)
class EInvoiceAdmin(ReadOnlyAdmin):
    list_display = ["filename", "format", "type_code", "invoice", "credit_note", "organisation"]
    list_filter = ["organisation", "format"]


@admin.register(MatchProposal)
class MatchProposalAdmin(ReadOnlyAdmin):
    """The matching's review queue: confirmed or rejected through relance.ledger.match_actions."""

    list_display = ["payment", "customer", "confidence", "rule", "state", "organisation"]
    list_filter = ["organisation", "state"]


@admin.register(KnownPayer)
class KnownPayerAdmin(ReadOnlyAdmin):
    list_display = ["customer", "kind", "value", "organisation"]
    list_filter = ["organisation"]


@admin.register(MatchSettings)
class MatchSettingsAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "threshold", "oldest_first"]
