"""Organisations' edited message templates and their channel preferences."""

from __future__ import annotations

import string
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from relance.accounts.models import Organisation


class TemplateChannel(models.TextChoices):
    EMAIL = "email", "e-mail"
    SMS = "sms", "SMS"
    LETTER = "letter", "courrier"
    CALL = "call", "appel"


class MessageTemplate(models.Model):
    """An organisation's edited copy of a template; the shipped file is used when there is none."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="message_templates")
    code = models.SlugField(max_length=60)
    language = models.CharField(max_length=2, choices=[("fr", "Français"), ("en", "English")], default="fr")
    channel = models.CharField(max_length=6, choices=TemplateChannel.choices, default=TemplateChannel.EMAIL)
    subject = models.TextField("objet", blank=True)
    body_text = models.TextField("texte")
    body_html = models.TextField("HTML", blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code", "language"], name="message_template_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.language})"

    FIELDS = {"subject": "subject", "text": "body_text", "html": "body_html"}

    def part(self, part: str) -> str:
        return getattr(self, self.FIELDS[part])

    def clean(self) -> None:
        """Refuse syntax errors and unknown variables, each with its line."""
        from relance.channels.templates import validate_template

        errors: dict[str, list[str]] = {}
        for part, field in self.FIELDS.items():
            source = getattr(self, field)
            if source:
                problems = validate_template(source, part, self.language)
                if problems:
                    errors[field] = [str(p) for p in problems]
        if self.channel == TemplateChannel.EMAIL and not self.subject.strip():
            errors.setdefault("subject", []).append("un e-mail a besoin d'un objet")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        # Every path (admin, API, scripts) goes through the check: a broken template never reaches a customer.
        self.clean()
        super().save(*args, **kwargs)


class AttachStatement(models.TextChoices):
    ALWAYS = "always", "toujours"
    SEVERAL = "several", "quand plusieurs factures sont dues"
    NEVER = "never", "jamais"


PAYMENT_LINK_FIELDS = {"reference", "amount", "customer"}


class OrganisationChannelSettings(models.Model):
    """How an organisation's e-mails go out: copies, read receipts, attachments, payment link."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="channel_settings")
    sender_name = models.CharField("nom de l'expéditeur", max_length=200, blank=True)
    read_receipt = models.BooleanField("demander un accusé de lecture", default=False)
    bcc_organisation = models.BooleanField("copie cachée à l'organisation", default=False)
    bcc_address = models.EmailField("adresse de la copie cachée", blank=True, help_text="vide : l'adresse d'envoi")
    attach_statement = models.CharField(
        "joindre le relevé de compte", max_length=7, choices=AttachStatement.choices, default=AttachStatement.SEVERAL
    )
    payment_link_url = models.CharField(
        "lien de paiement", max_length=500, blank=True,
        help_text="ex. https://pay.example.com/?ref={reference}&montant={amount}; "
                  "vide : pas de lien, le virement seul (IBAN et QR code)",
    )
    notice_days = models.PositiveSmallIntegerField("délai laissé par la mise en demeure (jours)", default=8)

    def __str__(self) -> str:
        return f"channels of {self.organisation}"

    def clean(self) -> None:
        if self.payment_link_url:
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(self.payment_link_url) if f is not None}
            except ValueError as exc:
                raise ValidationError({"payment_link_url": [f"lien mal formé : {exc}"]})
            unknown = names - PAYMENT_LINK_FIELDS
            if unknown:
                raise ValidationError({"payment_link_url": [
                    f"champ inconnu {{{sorted(unknown)[0]}}} ; autorisés : {', '.join(sorted(PAYMENT_LINK_FIELDS))}"
                ]})

    def payment_link(self, reference: str, amount: Decimal, customer) -> str:
        if not self.payment_link_url:
            return ""
        return self.payment_link_url.format(
            reference=quote(reference), amount=f"{amount:.2f}", customer=quote(customer.external_id)
        )

    def bcc(self) -> list[str]:
        if not self.bcc_organisation:
            return []
        address = self.bcc_address or self.organisation.sender_email
        return [address] if address else []


def get_channel_settings(org: Organisation) -> OrganisationChannelSettings:
    """The organisation's settings, or the defaults (unsaved) when it never changed them."""
    try:
        return org.channel_settings
    except OrganisationChannelSettings.DoesNotExist:
        return OrganisationChannelSettings(organisation=org)
