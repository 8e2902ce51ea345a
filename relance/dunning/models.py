"""Dunning: scenarios and their steps, the reminders sent (the outbox), promises, disputes,
payment plans and the tasks people do (calls, fixes, approvals)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from relance.accounts.models import Organisation
from relance.ledger.models import MONEY, Customer, Invoice


class Channel(models.TextChoices):
    EMAIL = "email", "e-mail"
    SMS = "sms", "SMS"
    LETTER = "letter", "courrier"
    CALL = "call", "appel"
    TASK = "task", "tâche"
    ESCALATION = "escalation", "escalade"


class Tone(models.TextChoices):
    FRIENDLY = "friendly", "amical"
    FIRM = "firm", "ferme"
    FORMAL = "formal", "formel"


class Anchor(models.TextChoices):
    DUE = "due", "date d'échéance"
    ISSUE = "issue", "date de facture"


class Scenario(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="scenarios")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "code"], name="scenario_code_per_org")]

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    offset_days = models.SmallIntegerField()
    anchor = models.CharField(max_length=5, choices=Anchor.choices, default=Anchor.DUE)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # For an escalation step, its kind (relance.channels.escalation.KINDS).
    template = models.CharField(max_length=60, help_text="code du modèle de message (par langue)")
    tone = models.CharField(max_length=8, choices=Tone.choices, default=Tone.FRIENDLY)
    needs_approval = models.BooleanField(default=False)
    registered = models.BooleanField(default=False)
    min_gap_days = models.PositiveSmallIntegerField(default=5)
    # Optional step-specific rules (e.g. "only when no call outcome within N business days").
    options = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["scenario", "position"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "code"], name="step_code_per_scenario"),
            models.UniqueConstraint(fields=["scenario", "position"], name="step_position_per_scenario"),
        ]

    def __str__(self) -> str:
        return f"{self.scenario.code}/{self.code}"


class ScenarioRule(models.Model):
    """Which scenario a customer follows: the rules are tried by position, first match wins."""

    class Condition(models.TextChoices):
        STRATEGIC = "strategic", "client stratégique"
        CONSUMER = "consumer", "particulier"
        PUBLIC = "public", "acheteur public"
        SMALL_AMOUNT = "small_amount", "total dû sous le seuil"
        SEGMENT = "segment", "segment de risque"
        ALWAYS = "always", "sinon"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="scenario_rules")
    position = models.PositiveSmallIntegerField()
    condition = models.CharField(max_length=14, choices=Condition.choices)
    value = models.CharField(max_length=40, blank=True)
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="rules")

    class Meta:
        ordering = ["organisation", "position"]


class ReminderState(models.TextChoices):
    PLANNED = "planned", "prévue"
    AWAITING_APPROVAL = "awaiting_approval", "à approuver"
    SENDING = "sending", "en cours d'envoi"
    SENT = "sent", "envoyée"
    FAILED = "failed", "échec"
    CANCELLED = "cancelled", "annulée"
    UNKNOWN = "unknown", "état inconnu"


class Reminder(models.Model):
    """One message to one customer on one channel (the outbox row), saved before it is sent."""

    # The customer's organisation, copied for filtering: no database constraint of its own (the
    # customer's holds), since every run's writers would otherwise all lock the organisation row.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="reminders", db_constraint=False, db_index=False
    )
    # Indexed by one_reminder_per_customer_channel_day, which leads with it.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="reminders", db_index=False)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    run_date = models.DateField()
    scenario_code = models.CharField(max_length=40)
    step_code = models.CharField(max_length=40, help_text="the most advanced step of its lines")
    template = models.CharField(max_length=60)
    tone = models.CharField(max_length=8, choices=Tone.choices, default=Tone.FRIENDLY)
    language = models.CharField(max_length=2, default="fr")
    registered = models.BooleanField(default=False)
    state = models.CharField(max_length=18, choices=ReminderState.choices, default=ReminderState.PLANNED)
    recipient = models.CharField(max_length=500, blank=True)
    # Exactly as sent, for the evidence file.
    subject = models.CharField(max_length=500, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True, help_text="[{name, sha256, size}]")
    message_id = models.CharField(max_length=300, blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    provider_response = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True, help_text="quiet hours (SMS)")
    # The sender's claim (relance.channels.delivery): a random token per claim, and the moment the
    # message was handed to the provider. Claimed but not handed over = safe to give back to the queue.
    claim_token = models.CharField(max_length=32, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    # What the planner decided besides the lines: the total of the lines, the customer's other
    # overdue invoices to show in the message, and the channel the step asked for when it fell back.
    total_due = models.DecimalField(**MONEY, default=0)
    other_invoice_ids = models.JSONField(default=list, blank=True)
    fallback_from = models.CharField(max_length=6, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A person rewrote the subject and text before approving (actions.edit_reminder): the channels
    # send that text instead of the template's, and the evidence keeps who and when.
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="modifiée par",
    )
    edited_at = models.DateTimeField("modifiée le", null=True, blank=True)
    registered_number = models.CharField("n° de recommandé", max_length=60, blank=True)
    acknowledged_on = models.DateField("date de l'accusé de réception", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One message per customer per channel per run.
            models.UniqueConstraint(
                fields=["customer", "channel", "run_date"], name="one_reminder_per_customer_channel_day"
            )
        ]
        indexes = [
            # An organisation's reminders of a day (the run's "already sent today", the outbox pages).
            models.Index(fields=["organisation", "run_date"], name="reminder_org_day"),
            # The Today page's outbox, oldest first (relance.channels.delivery._due).
            models.Index(fields=["organisation", "id"], name="reminder_outbox",
                         condition=Q(state__in=["planned", "failed", "sending"])),
            # The counts of the Today page (to send, awaiting approval) and the reminders log's filter.
            models.Index(fields=["organisation", "state", "run_date"], name="reminder_org_state"),
            # The sender claims work with this one (state planned, oldest first).
            models.Index(
                fields=["state", "next_attempt_at"],
                name="reminder_to_send",
                condition=Q(state__in=["planned", "failed"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.customer_id} {self.run_date} {self.step_code}"


class InvoiceSchedule(models.Model):
    """Where an invoice stands in its scenario: the last step done, and when the next one is due.

    Apart from the invoice so that the daily run, which rewrites tens of thousands of these rows,
    touches a narrow table with two indexes instead of the ledger's invoices and all their indexes.
    A row exists once the engine has scheduled the invoice (Invoice.dunning_scheduled)."""

    invoice = models.OneToOneField(Invoice, primary_key=True, on_delete=models.CASCADE, related_name="schedule")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    last_step = models.CharField(max_length=40, blank=True)
    last_date = models.DateField(null=True, blank=True)
    next_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            # The daily run reads what is due through this index, never the ledger.
            models.Index(
                fields=["organisation", "next_date"], name="schedule_next_date", condition=Q(next_date__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.last_step or '-'} → {self.next_date or '-'}"


class ReminderLine(models.Model):
    """An invoice in a reminder, at its own step. Unique per (invoice, step): never twice."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="lines")
    # No database constraint (Django still cascades): checking one locks the invoice row, which
    # rewrites its page, and a large run would rewrite the whole ledger for it. Invoices are
    # cancelled, credited or written off, not deleted.
    # Indexed by invoice_step_once, which leads with it.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="reminder_lines", db_constraint=False, db_index=False
    )
    step_code = models.CharField(max_length=40)
    balance = models.DecimalField(**MONEY)
    dropped = models.BooleanField(default=False, help_text="paid between planning and sending")
    # Payment plans: the line is an instalment (its invoice is the plan's first one).
    instalment = models.ForeignKey(
        "Instalment", null=True, blank=True, on_delete=models.SET_NULL, related_name="reminder_lines"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "step_code"], name="invoice_step_once"),
        ]


class PromiseState(models.TextChoices):
    OPEN = "open", "en cours"
    KEPT = "kept", "tenue"
    BROKEN = "broken", "non tenue"
    CANCELLED = "cancelled", "annulée"


class Promise(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="promises")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="promises")
    promised_date = models.DateField()
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    state = models.CharField(max_length=9, choices=PromiseState.choices, default=PromiseState.OPEN)
    # The open balance when the promise was made: a promise of an amount is kept once that much is paid.
    balance_when_made = models.DecimalField(**MONEY, null=True, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice"], condition=Q(state="open"), name="one_open_promise")
        ]


class Dispute(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="disputes")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="disputes")
    reason = models.TextField()
    is_open = models.BooleanField(default=True)
    resolution = models.TextField(blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice"], condition=Q(is_open=True), name="one_open_dispute")
        ]


class PaymentPlan(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "en cours"
        COMPLETED = "completed", "terminé"
        BROKEN = "broken", "rompu"
        CANCELLED = "cancelled", "annulé"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="payment_plans")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_plans")
    invoices = models.ManyToManyField(Invoice, related_name="payment_plans")
    state = models.CharField(max_length=9, choices=State.choices, default=State.ACTIVE)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class Instalment(models.Model):
    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="instalments")
    position = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    paid_amount = models.DecimalField(**MONEY, default=0)
    dunning_last_step = models.CharField(max_length=40, blank=True)
    dunning_last_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "position"]


class TaskKind(models.TextChoices):
    CALL = "call", "appel"
    FIX_CONTACT = "fix_contact", "corriger le contact"
    BROKEN_PROMISE = "broken_promise", "promesse non tenue"
    ESCALATION = "escalation", "escalade"
    CHECK_PAYMENT = "check_payment", "vérifier un paiement"
    REVIEW = "review", "à examiner"
    DECLARE_CLAIM = "declare_claim", "déclarer la créance"


class Task(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "à faire"
        DONE = "done", "faite"
        CANCELLED = "cancelled", "annulée"

    # As Reminder.organisation: no constraint of its own; indexed by task_inbox, which leads with it.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="tasks", db_constraint=False, db_index=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=14, choices=TaskKind.choices)
    title = models.CharField(max_length=300)
    due_date = models.DateField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    state = models.CharField(max_length=9, choices=State.choices, default=State.OPEN)
    reminder = models.ForeignKey(Reminder, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    # Without database constraints, as ReminderLine.invoice (the tasks are written by the daily run).
    invoices = models.ManyToManyField(Invoice, blank=True, related_name="tasks", db_constraint=False)
    script = models.TextField(blank=True)
    # The step that created the task, and for fix_contact tasks the channel without a usable contact.
    step_code = models.CharField(max_length=40, blank=True)
    channel = models.CharField(max_length=6, blank=True)
    outcome = models.CharField(max_length=20, blank=True)
    outcome_data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "state", "due_date"], name="task_inbox")]


class DunningRun(models.Model):
    """One daily run of an organisation. Its row is locked while the run writes, so that two runs
    started at once for the same organisation and date go one after the other."""

    class State(models.TextChoices):
        RUNNING = "running", "en cours"
        DONE = "done", "terminé"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="dunning_runs")
    run_date = models.DateField()
    state = models.CharField(max_length=7, choices=State.choices, default=State.RUNNING)
    passes = models.PositiveSmallIntegerField(default=0, help_text="runs on that date (the later ones add what is new)")
    counts = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "run_date"], name="one_dunning_run_per_org_day")
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.run_date} {self.state}"


class Note(models.Model):
    """A collector's note on a customer (and maybe one invoice), shown on the timeline."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="notes")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="timeline_notes")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "created_at"], name="note_customer")]


class CostKind(models.TextChoices):
    POSTAGE = "postage", "affranchissement de lettre recommandée"
    BAILIFF = "bailiff", "commissaire de justice (huissier)"
    COURT = "court", "frais de justice"
    AGENCY = "agency", "agence de recouvrement"
    OTHER = "other", "autre"


class RecoveryCost(models.Model):
    """A recovery cost actually incurred on a customer's debt (claimed beyond the fixed indemnity on
    justification, relance.law.recovery_costs); written by relance.dunning.cost_actions."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="recovery_costs")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="recovery_costs")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="recovery_costs")
    date = models.DateField()
    kind = models.CharField(max_length=10, choices=CostKind.choices)
    amount = models.DecimalField(**MONEY)
    label = models.CharField(max_length=300, blank=True)
    document = models.FileField(upload_to="costs/%Y/%m/", blank=True)  # the supporting document
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "date"], name="cost_customer")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="cost_amount_positive")]
