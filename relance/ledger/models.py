"""The receivables ledger: customers (debtors), their contacts, invoices, credit notes, payments.

The open balance of an invoice is always its total minus its allocations; only
`relance.ledger.balances` writes it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.law.late_payment import contract_terms_problem
from relance.ledger.contacts import clean_email

MONEY = {"max_digits": 14, "decimal_places": 2}


class ImportBatch(models.Model):
    """One run of an importer: what file, what it did. Invoices and payments point back to it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="imports")
    kind = models.CharField(max_length=20)
    filename = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.filename}"


class CustomerKind(models.TextChoices):
    BUSINESS = "business", "entreprise"
    CONSUMER = "consumer", "particulier"
    PUBLIC = "public", "organisme public"


class RiskSegment(models.TextChoices):
    LOW = "low", "faible"
    MEDIUM = "medium", "moyen"
    HIGH = "high", "élevé"


class Civility(models.TextChoices):
    MR = "M.", "Monsieur"
    MRS = "Mme", "Madame"


class InsolvencyKind(models.TextChoices):
    SAFEGUARD = "sauvegarde", "procédure de sauvegarde"
    RECOVERY = "redressement", "redressement judiciaire"
    LIQUIDATION = "liquidation", "liquidation judiciaire"


class Customer(models.Model):
    # Indexed by customer_external_id_per_org, which leads with it. (On PostgreSQL the table keeps
    # room in its pages, see migration 0006: the daily run rewrites the risk scores in place.)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="customers", db_index=False)
    external_id = models.CharField("code client", max_length=64)
    name = models.CharField("raison sociale / nom", max_length=200)
    siren = models.CharField(max_length=9, blank=True)
    siret = models.CharField(max_length=14, blank=True)
    vat_number = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=10, choices=CustomerKind.choices, default=CustomerKind.BUSINESS)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="FR")
    language = models.CharField(max_length=2, default="fr")
    tags = models.JSONField(default=list, blank=True)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    strategic = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    # Dunning: explicit scenario (else chosen by the rules), risk, pause.
    scenario = models.ForeignKey(
        "dunning.Scenario", null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    risk_score = models.PositiveSmallIntegerField(null=True, blank=True)
    risk_segment = models.CharField(max_length=6, choices=RiskSegment.choices, default=RiskSegment.MEDIUM)
    risk_segment_override = models.CharField(max_length=6, choices=RiskSegment.choices, blank=True)
    risk_reasons = models.JSONField(default=list, blank=True)
    paused_until = models.DateField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)
    # The person the letters and e-mails are addressed to ("Madame Martin,").
    contact_name = models.CharField("contact", max_length=200, blank=True)
    contact_civility = models.CharField("civilité", max_length=3, choices=Civility.choices, blank=True)
    # Insolvency proceedings (procédure collective): claims born before the judgment may no longer
    # be demanded; they are declared to the mandataire judiciaire (relance.dunning.actions).
    in_insolvency = models.BooleanField("procédure collective", default=False)
    insolvency_date = models.DateField("date du jugement d'ouverture", null=True, blank=True)
    insolvency_kind = models.CharField("type de procédure", max_length=12, choices=InsolvencyKind.choices, blank=True)
    # Late-payment rate agreed with this customer; empty mode = the organisation's terms of sale.
    late_rate_mode = models.CharField(
        "taux des pénalités", max_length=14, blank=True,
        choices=[("", "celui des CGV de l'organisation"), ("percent", "taux annuel en %"),
                 ("legal_multiple", "multiple du taux d'intérêt légal")],
    )
    late_rate_value = models.DecimalField("valeur du taux", max_digits=6, decimal_places=3, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def clean(self) -> None:
        problem = contract_terms_problem(self.late_rate_mode, self.late_rate_value)
        if problem:
            raise ValidationError({"late_rate_value": [problem]})

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "external_id"], name="customer_external_id_per_org")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"

    @property
    def segment(self) -> str:
        return self.risk_segment_override or self.risk_segment

    @property
    def address_lines(self) -> list[str]:
        city = f"{self.postcode} {self.city}".strip()
        return [line for line in (self.address_line1, self.address_line2, city) if line]

    @property
    def status_label(self) -> str:
        """What stops every reminder to the customer, as shown next to its name ("" when nothing does)."""
        if self.in_insolvency:
            return "Procédure collective"
        if self.paused_until is not None and self.paused_until >= timezone.localdate():
            return "En pause"
        return ""


class ContactKind(models.TextChoices):
    EMAIL = "email", "e-mail"
    PHONE = "phone", "téléphone"
    POSTAL = "postal", "adresse postale"


class ContactRole(models.TextChoices):
    BILLING = "billing", "facturation"
    ACCOUNTING = "accounting", "comptabilité"
    MAIN = "main", "principal"


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(max_length=6, choices=ContactKind.choices)
    value = models.CharField(max_length=500)
    role = models.CharField(max_length=10, choices=ContactRole.choices, default=ContactRole.BILLING)
    name = models.CharField(max_length=200, blank=True)
    valid = models.BooleanField(default=True)
    invalid_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "value"], name="contact_unique_value")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"

    def clean(self) -> None:
        # Every form that writes a contact (the admin's included) applies the importer's rule.
        if self.kind == ContactKind.EMAIL:
            try:
                self.value = clean_email(self.value)
            except ValidationError as exc:
                raise ValidationError({"value": exc.messages})


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "ouverte"
    PARTLY_PAID = "partly_paid", "partiellement payée"
    PAID = "paid", "payée"
    DISPUTED = "disputed", "en litige"
    WRITTEN_OFF = "written_off", "passée en perte"
    CANCELLED = "cancelled", "annulée"


class Invoice(models.Model):
    # No single-column indexes on these two: invoice_number_per_org (organisation, number) and
    # invoice_customer_status (customer, status) lead with them, and every index costs on import.
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invoices", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices", db_index=False)
    number = models.CharField("numéro", max_length=64)
    issue_date = models.DateField()
    due_date = models.DateField()
    currency = models.CharField(max_length=3, default="EUR")
    amount_excl_tax = models.DecimalField(**MONEY, default=Decimal("0"))
    tax = models.DecimalField(**MONEY, default=Decimal("0"))
    total = models.DecimalField(**MONEY)
    open_balance = models.DecimalField(**MONEY)
    status = models.CharField(max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    document = models.FileField(upload_to="invoices/", blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    source_import = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL)
    # Whether the dunning engine has this invoice in its schedule (relance.dunning.models.InvoiceSchedule,
    # where its steps and next date live, off this table: the daily run rewrites those rows).
    dunning_scheduled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "number"], name="invoice_number_per_org"),
        ]
        indexes = [
            # The daily run: the open invoices not yet in the dunning schedule (just imported), read
            # by relance.dunning.queries.list_candidate_invoices without scanning the ledger.
            models.Index(
                fields=["organisation"],
                name="invoice_unscheduled",
                condition=Q(dunning_scheduled=False, status__in=["open", "partly_paid", "disputed"]),
            ),
            models.Index(fields=["customer", "status"], name="invoice_customer_status"),
            models.Index(fields=["organisation", "due_date"], name="invoice_org_due"),
        ]
        ordering = ["due_date", "number"]

    def __str__(self) -> str:
        return self.number

    @property
    def is_settled(self) -> bool:
        return self.open_balance <= 0


class CreditNote(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="credit_notes")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=64)
    date = models.DateField()
    currency = models.CharField(max_length=3, default="EUR")
    total = models.DecimalField(**MONEY)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="credit_notes"
    )
    external_id = models.CharField(max_length=64, blank=True)
    source_import = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "number"], name="credit_note_number_per_org")
        ]

    def __str__(self) -> str:
        return self.number


class PaymentMethod(models.TextChoices):
    TRANSFER = "transfer", "virement"
    DIRECT_DEBIT = "direct_debit", "prélèvement"
    CARD = "card", "carte"
    CHEQUE = "cheque", "chèque"
    CASH = "cash", "espèces"
    OTHER = "other", "autre"


class Payment(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="payments")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    date = models.DateField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="EUR")
    method = models.CharField(max_length=12, choices=PaymentMethod.choices, default=PaymentMethod.TRANSFER)
    reference = models.CharField(max_length=200, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    payer_iban = models.CharField(max_length=34, blank=True)
    bank_transaction_id = models.CharField(max_length=100, null=True, blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    source_import = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "bank_transaction_id"],
                name="payment_bank_transaction_per_org",
                condition=Q(bank_transaction_id__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["organisation", "external_id"],
                name="payment_external_id_per_org",
                condition=~Q(external_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.reference}"


class AllocationSource(models.TextChoices):
    PAYMENT = "payment", "paiement"
    CREDIT_NOTE = "credit_note", "avoir"
    # Settled in the source ledger before import ("Déjà payé"): no payment row to point to.
    EXTERNAL = "external", "réglé hors Relance"


class Allocation(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="allocations")
    source = models.CharField(max_length=12, choices=AllocationSource.choices)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="allocations"
    )
    credit_note = models.ForeignKey(
        CreditNote, null=True, blank=True, on_delete=models.CASCADE, related_name="allocations"
    )
    amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="allocation_has_one_source",
                condition=(
                    Q(source="payment", payment__isnull=False, credit_note__isnull=True)
                    | Q(source="credit_note", payment__isnull=True, credit_note__isnull=False)
                    | Q(source="external", payment__isnull=True, credit_note__isnull=True)
                ),
            ),
            models.CheckConstraint(name="allocation_positive", condition=Q(amount__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.amount} -> {self.invoice_id}"
