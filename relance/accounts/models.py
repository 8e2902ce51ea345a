"""Organisations (the creditor companies), and who may work in them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from relance.accounts import validators
from relance.law.late_payment import contract_terms_problem


class Organisation(models.Model):
    slug = models.SlugField(unique=True)
    legal_name = models.CharField("raison sociale", max_length=200)
    siren = models.CharField(max_length=9, blank=True)
    siret = models.CharField(max_length=14, blank=True)
    vat_number = models.CharField("n° TVA", max_length=20, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="FR")
    iban = models.CharField(max_length=34, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    sender_email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    logo = models.FileField(upload_to="logos/", blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    time_zone = models.CharField(max_length=64, default="Europe/Paris")
    language = models.CharField(max_length=2, default="fr", choices=[("fr", "Français"), ("en", "English")])
    # Dunning settings (issue 2/8 uses them; defaults follow the seeds).
    min_reminder_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("10.00"))
    small_amount_threshold = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("150.00"))
    run_hour = models.PositiveSmallIntegerField(default=9)
    # Transports: empty means the instance default (EMAIL_URL / SMS_URL).
    email_url = models.CharField(max_length=500, blank=True)
    sms_url = models.CharField(max_length=500, blank=True)
    # Late-payment rate of the terms of sale (L441-10 II): empty mode = the law's ECB + 10 points.
    late_rate_mode = models.CharField(
        "taux des pénalités (CGV)", max_length=14, blank=True,
        choices=[("", "légal (BCE + 10 points)"), ("percent", "taux annuel en %"),
                 ("legal_multiple", "multiple du taux d'intérêt légal")],
    )
    late_rate_value = models.DecimalField("valeur du taux (CGV)", max_digits=6, decimal_places=3, null=True, blank=True)
    # The commissaire de justice the organisation works with (small-claims letter, dossier); optional.
    commissaire_name = models.CharField("commissaire de justice", max_length=200, blank=True)
    commissaire_address = models.TextField("adresse du commissaire de justice", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["legal_name"]

    def __str__(self) -> str:
        return self.legal_name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        checks = [
            ("siren", validators.validate_siren),
            ("siret", validators.validate_siret),
            ("vat_number", validators.validate_vat),
            ("iban", validators.validate_iban),
            ("bic", validators.validate_bic),
        ]
        for field, check in checks:
            value = getattr(self, field)
            if value:
                try:
                    check(value)
                except ValidationError as exc:
                    errors[field] = exc.messages
        if self.siren and self.siret and not self.siret.startswith(self.siren):
            errors.setdefault("siret", []).append("le SIRET ne commence pas par le SIREN")
        problem = contract_terms_problem(self.late_rate_mode, self.late_rate_value)
        if problem:
            errors.setdefault("late_rate_value", []).append(problem)
        if errors:
            raise ValidationError(errors)

    def clean_fields(self, exclude=None):
        self._normalise()
        super().clean_fields(exclude=exclude)

    def save(self, *args, **kwargs):
        self._normalise()
        super().save(*args, **kwargs)

    def _normalise(self) -> None:
        # Stored compact, so that comparisons and exports need no normalisation.
        self.siren = "".join(self.siren.split())
        self.siret = "".join(self.siret.split())
        self.iban = "".join(self.iban.split()).upper()
        self.bic = self.bic.strip().upper()
        self.vat_number = "".join(self.vat_number.split()).upper()

    @property
    def address_lines(self) -> list[str]:
        city = f"{self.postcode} {self.city}".strip()
        return [line for line in (self.address_line1, self.address_line2, city) if line]


class Role(models.TextChoices):
    OWNER = "owner", "propriétaire"
    COLLECTOR = "collector", "chargé de recouvrement"
    VIEWER = "viewer", "lecture seule"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.COLLECTOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organisation"], name="one_membership_per_org")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation.slug} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in {Role.OWNER, Role.COLLECTOR}
