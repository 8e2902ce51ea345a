"""Dunning admin: scenarios and steps are settings (edited here); what the engine wrote (schedules, runs,
reminders as sent) is read-only; promises, disputes, plans and approvals go through relance.dunning.actions."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from relance.dunning import actions
from relance.dunning.models import (
    Dispute,
    DunningRun,
    Instalment,
    InvoiceSchedule,
    Note,
    PaymentPlan,
    Promise,
    RecoveryCost,
    Reminder,
    ReminderLine,
    ReminderState,
    Scenario,
    ScenarioRule,
    Step,
    Task,
)
from relance.web.admin_actions import ObjectAction, ObjectActionsMixin, ReadOnlyAdmin, ReadOnlyInline


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


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["scenario", "position", "code", "offset_days", "channel", "template", "tone"]
    list_filter = ["scenario__organisation", "channel"]


@admin.register(InvoiceSchedule)
class InvoiceScheduleAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "organisation", "last_step", "last_date", "next_date"]
    list_filter = ["organisation"]
    search_fields = ["invoice__number"]
    date_hierarchy = "next_date"


@admin.register(DunningRun)
class DunningRunAdmin(ReadOnlyAdmin):
    list_display = ["run_date", "organisation", "state", "passes", "started_at", "finished_at"]
    list_filter = ["organisation", "state"]


# --- reminders: stored exactly as sent; a person only approves or skips one that waits --------------


class ApproveReminder(ObjectAction):
    label = "approuver l'envoi"
    done = "approuvée"

    @classmethod
    def applies_to(cls, reminder) -> bool:
        return reminder.state == ReminderState.AWAITING_APPROVAL

    def run(self, reminder, user):
        actions.approve_reminder(reminder, user)


class SkipReminder(ApproveReminder):
    label = "écarter (ne pas envoyer)"
    done = "écartée"

    def run(self, reminder, user):
        actions.skip_reminder(reminder, user)


class ReminderLineInline(ReadOnlyInline):
    model = ReminderLine
    fields = ["invoice", "step_code", "balance", "dropped", "instalment"]
    readonly_fields = fields


@admin.register(Reminder)
class ReminderAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    list_display = ["run_date", "customer", "channel", "step_code", "total_due", "state", "sent_at"]
    list_filter = ["organisation", "channel", "state"]
    inlines = [ReminderLineInline]
    readonly_fields = ["action_links"]
    object_actions = {"approve": ApproveReminder, "skip": SkipReminder}


@admin.register(ReminderLine)
class ReminderLineAdmin(ReadOnlyAdmin):
    list_display = ["reminder", "invoice", "step_code", "balance", "dropped"]


# --- promises, disputes, payment plans: made from an invoice's page (ledger admin) or the CLI ----------


@admin.register(Promise)
class PromiseAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "promised_date", "amount", "state"]
    list_filter = ["organisation", "state"]


class CloseDispute(ObjectAction):
    label = "clore le litige"
    done = "litige clos"
    resolution = forms.CharField(label="résolution", widget=forms.Textarea, required=False)

    @classmethod
    def applies_to(cls, dispute) -> bool:
        return dispute.is_open

    def run(self, dispute, user):
        actions.close_dispute(dispute, self.cleaned_data["resolution"], user=user)


@admin.register(Dispute)
class DisputeAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    list_display = ["invoice", "is_open", "opened_at", "closed_at"]
    list_filter = ["organisation", "is_open"]
    readonly_fields = ["action_links"]
    object_actions = {"close": CloseDispute}


class CancelPaymentPlan(ObjectAction):
    label = "annuler l'échéancier"
    done = "échéancier annulé"

    @classmethod
    def applies_to(cls, plan) -> bool:
        return plan.state == PaymentPlan.State.ACTIVE

    def run(self, plan, user):
        actions.cancel_payment_plan(plan, user=user)


class InstalmentInline(ReadOnlyInline):
    model = Instalment
    fields = ["position", "due_date", "amount", "paid_amount"]
    readonly_fields = fields


@admin.register(PaymentPlan)
class PaymentPlanAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    list_display = ["customer", "state", "created_at"]
    list_filter = ["organisation", "state"]
    inlines = [InstalmentInline]
    readonly_fields = ["action_links"]
    object_actions = {"cancel": CancelPaymentPlan}


@admin.register(Instalment)
class InstalmentAdmin(ReadOnlyAdmin):
    list_display = ["plan", "position", "due_date", "amount", "paid_amount"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Tasks are created by the engine and the actions (create_task); people follow them up here."""

    list_display = ["kind", "title", "customer", "due_date", "assignee", "state"]
    list_filter = ["organisation", "kind", "state"]
    fields = ["kind", "title", "customer", "due_date", "assignee", "state", "script"]
    readonly_fields = ["kind", "customer", "script"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin):
    list_display = ("customer", "invoice", "author", "created_at")
    search_fields = ("customer__name", "text")


@admin.register(RecoveryCost)
class RecoveryCostAdmin(ReadOnlyAdmin):
    """Recorded through relance.dunning.actions.record_cost (the customer page, `relance costs`): audited."""

    list_display = ("customer", "date", "kind", "amount", "invoice", "created_by")
    list_filter = ("organisation", "kind")
    search_fields = ("customer__name", "label")
