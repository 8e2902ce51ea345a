from django.contrib import admin

from relance.ledger.models import (
    Allocation,
    Contact,
    CreditNote,
    Customer,
    ImportBatch,
    Invoice,
    Payment,
)


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


class AllocationInline(admin.TabularInline):
    model = Allocation
    extra = 0
    raw_id_fields = ["payment", "credit_note"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["external_id", "name", "kind", "organisation", "strategic", "risk_segment", "paused_until"]
    list_filter = ["organisation", "kind", "strategic", "risk_segment"]
    search_fields = ["external_id", "name", "siren"]
    inlines = [ContactInline]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "issue_date", "due_date", "total", "open_balance", "status"]
    list_filter = ["organisation", "status"]
    search_fields = ["number", "customer__name", "customer__external_id"]
    raw_id_fields = ["customer", "source_import"]
    # The balance is derived from allocations (relance.ledger.balances), never typed in.
    readonly_fields = ["open_balance", "status", "dunning_state"]
    inlines = [AllocationInline]

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
class CreditNoteAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "date", "total"]
    raw_id_fields = ["customer", "invoice", "source_import"]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["date", "amount", "customer", "method", "reference", "bank_transaction_id"]
    list_filter = ["organisation", "method"]
    search_fields = ["reference", "payer_name", "bank_transaction_id"]
    raw_id_fields = ["customer", "source_import"]


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["invoice", "source", "payment", "credit_note", "amount"]
    raw_id_fields = ["invoice", "payment", "credit_note"]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["kind", "filename", "organisation", "created", "updated", "unchanged", "started_at"]


admin.site.register(Contact)
