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
TOTAL = {"max_digits": 18, "decimal_places": 2}  # a sum of many invoices needs more digits than one


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
    # Running totals of the open invoices (relance.ledger.totals keeps them; nothing else writes them),
    # the overdue ones as of the organisation's TotalsDate: the list sorts by them without reading invoices.
    # Database defaults: the importers' bulk inserts name only the columns they fill.
    open_amount = models.DecimalField(**TOTAL, default=Decimal("0"), db_default=Decimal("0"), editable=False)
    open_count = models.IntegerField(default=0, db_default=0, editable=False)
    overdue_amount = models.DecimalField(**TOTAL, default=Decimal("0"), db_default=Decimal("0"), editable=False)
    overdue_count = models.IntegerField(default=0, db_default=0, editable=False)
    overdue_since = models.DateField(null=True, blank=True, editable=False)  # the oldest overdue due date
    disputed_count = models.IntegerField(default=0, db_default=0, editable=False)

    def clean(self) -> None:
        problem = contract_terms_problem(self.late_rate_mode, self.late_rate_value)
        if problem:
            raise ValidationError({"late_rate_value": [problem]})

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "external_id"], name="customer_external_id_per_org")
        ]
        indexes = [
            # The customers list's sorts (by name, overdue amount, days late) and the dashboard's top 10,
            # read down an index: no sort of every customer.
            models.Index(fields=["organisation", "name"], name="customer_org_name"),
            models.Index(fields=["organisation", "-overdue_amount", "name"], name="customer_org_overdue"),
            models.Index(fields=["organisation", "overdue_since", "name"], name="customer_org_late"),
            # The reports page walks the customers owing the most down this one.
            models.Index(fields=["organisation", "-open_amount"], name="customer_org_open"),
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
            # The aged balance on a past date reads the invoices issued since (relance.reports.aged).
            models.Index(fields=["organisation", "issue_date"], name="invoice_org_issue"),
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
        indexes = [models.Index(fields=["organisation", "date"], name="credit_note_org_date")]

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
        # Payments made after a date (the aged balance on a past date, the payment delay of a period).
        indexes = [models.Index(fields=["organisation", "date"], name="payment_org_date")]

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
        # Settlements made in the source ledger date from their recording (relance.reports.aged).
        indexes = [models.Index(fields=["source", "created_at"], name="allocation_source_created")]

    def __str__(self) -> str:
        return f"{self.amount} -> {self.invoice_id}"


# Running totals (relance.ledger.totals keeps them; nothing else writes them).


class DayTotals(models.Model):
    """One organisation's day: open balance of the open invoices due that day, amount invoiced that day."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    due_open_amount = models.DecimalField(**TOTAL, default=Decimal("0"))
    due_open_count = models.IntegerField(default=0)
    invoiced_amount = models.DecimalField(**TOTAL, default=Decimal("0"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "day"], name="day_totals_per_org")]


class TotalsDate(models.Model):
    """The day the customers' overdue figures are true for (no row: the totals are not built yet)."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, primary_key=True, related_name="+")
    as_of = models.DateField()
# --- e-invoices ---
class EInvoiceFormat(models.TextChoices):
    FACTURX = "facturx", "Factur-X / ZUGFeRD (PDF)"
    CII = "cii", "CII (XML)"
    UBL = "ubl", "UBL 2.1 (XML)"


class EInvoice(models.Model):
    """What an imported e-invoice file said beyond the ledger's columns (relance.ledger.importers.einvoice)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="einvoices")
    invoice = models.OneToOneField(Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="einvoice")
    credit_note = models.OneToOneField(
        CreditNote, null=True, blank=True, on_delete=models.CASCADE, related_name="einvoice"
    )
    format = models.CharField(max_length=8, choices=EInvoiceFormat.choices)
    profile = models.CharField(max_length=200, blank=True)
    type_code = models.CharField(max_length=3)
    filename = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    payment_terms = models.CharField("conditions de paiement", max_length=500, blank=True)
    iban = models.CharField("IBAN du bénéficiaire", max_length=34, blank=True)
    source_import = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="einvoice_one_document",
                condition=Q(invoice__isnull=False, credit_note__isnull=True)
                | Q(invoice__isnull=True, credit_note__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.format} {self.filename}"
# --- payment matching (relance.ledger.reconcile) ---


class MatchSettings(models.Model):
    """An organisation's matching choices (none: the instance's defaults)."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="match_settings")
    # Below it a proposal waits for a person; null: settings.RELANCE_MATCH_THRESHOLD.
    threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    # A known payer's amount that fits no invoice nor combination goes to the oldest invoices first.
    oldest_first = models.BooleanField(default=True)


class ProposalState(models.TextChoices):
    PROPOSED = "proposed", "proposée"
    CONFIRMED = "confirmed", "confirmée"
    REJECTED = "rejected", "rejetée"


class MatchProposal(models.Model):
    """What matching proposes for one payment: applied at once (confirmed, auto) or queued for review."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="match_proposals")
    payment = models.OneToOneField(Payment, on_delete=models.CASCADE, related_name="match_proposal")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # [{"invoice": id, "amount": "12.50"}]
    allocations = models.JSONField(default=list, blank=True)
    confidence = models.PositiveSmallIntegerField(default=0)
    rule = models.CharField(max_length=12)
    reason = models.CharField(max_length=500)
    # How the payer was recognised ("iban", "name"), so a confirmation teaches it.
    payer_known_by = models.CharField(max_length=5, blank=True)
    state = models.CharField(max_length=9, choices=ProposalState.choices, default=ProposalState.PROPOSED)
    auto = models.BooleanField(default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The review queue (web page, `relance match review`).
            models.Index(fields=["organisation", "state"], name="match_proposal_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.state} {self.confidence}"


class KnownPayer(models.Model):
    """A payer IBAN or normalised name confirmed once for a customer: matching uses it next time."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="known_payers")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="known_payers")
    kind = models.CharField(max_length=4, choices=[("iban", "IBAN"), ("name", "nom")])
    value = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind", "value"], name="known_payer_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"
