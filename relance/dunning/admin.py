from django.contrib import admin

from relance.dunning.models import (
    Dispute,
    DunningRun,
    Instalment,
    InvoiceSchedule,
    PaymentPlan,
    Promise,
    Reminder,
    ReminderLine,
    Scenario,
    ScenarioRule,
    Step,
    Task,
)


class StepInline(admin.TabularInline):
    model = Step
    extra = 0


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "organisation", "active"]
    inlines = [StepInline]


@admin.register(ScenarioRule)
class ScenarioRuleAdmin(admin.ModelAdmin):
    list_display = ["organisation", "position", "condition", "value", "scenario"]


@admin.register(InvoiceSchedule)
class InvoiceScheduleAdmin(admin.ModelAdmin):
    list_display = ["invoice", "organisation", "last_step", "last_date", "next_date"]
    list_filter = ["organisation"]
    search_fields = ["invoice__number"]
    raw_id_fields = ["invoice"]
    date_hierarchy = "next_date"


class ReminderLineInline(admin.TabularInline):
    model = ReminderLine
    extra = 0
    raw_id_fields = ["invoice"]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["run_date", "customer", "channel", "step_code", "total_due", "state", "sent_at"]
    list_filter = ["organisation", "channel", "state"]
    raw_id_fields = ["customer"]
    inlines = [ReminderLineInline]


class InstalmentInline(admin.TabularInline):
    model = Instalment
    extra = 0


@admin.register(PaymentPlan)
class PaymentPlanAdmin(admin.ModelAdmin):
    list_display = ["customer", "state", "created_at"]
    raw_id_fields = ["customer", "invoices"]
    inlines = [InstalmentInline]


@admin.register(Promise)
class PromiseAdmin(admin.ModelAdmin):
    list_display = ["invoice", "promised_date", "amount", "state"]
    raw_id_fields = ["invoice"]


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ["invoice", "is_open", "opened_at", "closed_at"]
    raw_id_fields = ["invoice"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["kind", "title", "customer", "due_date", "assignee", "state"]
    list_filter = ["organisation", "kind", "state"]
    raw_id_fields = ["customer", "reminder", "invoices"]


@admin.register(DunningRun)
class DunningRunAdmin(admin.ModelAdmin):
    list_display = ["run_date", "organisation", "state", "passes", "started_at", "finished_at"]
    list_filter = ["organisation", "state"]
    readonly_fields = ["counts"]


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["scenario", "position", "code", "offset_days", "channel", "template", "tone"]
    list_filter = ["scenario__organisation", "channel"]


@admin.register(ReminderLine)
class ReminderLineAdmin(admin.ModelAdmin):
    list_display = ["reminder", "invoice", "step_code", "balance", "dropped"]
    raw_id_fields = ["reminder", "invoice", "instalment"]


@admin.register(Instalment)
class InstalmentAdmin(admin.ModelAdmin):
    list_display = ["plan", "position", "due_date", "amount", "paid_amount"]
    raw_id_fields = ["plan"]
