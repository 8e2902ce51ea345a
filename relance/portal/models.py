"""What customers do on their portal (/p/<token>/): each visit (proof that they saw the notice), and
each answer ("already paid", "I dispute", "I want a payment plan"), which holds the dunning of the
invoices concerned until a collector has looked at it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from relance.accounts.models import Organisation
from relance.ledger.models import Customer, Invoice


class PortalVisit(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="portal_visits")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_visits")
    at = models.DateTimeField(auto_now_add=True)
    page = models.CharField(max_length=40, default="home")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # The reminder whose link was followed, when the link names one.
    reminder = models.ForeignKey("dunning.Reminder", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="portal_visits")

    class Meta:
        indexes = [models.Index(fields=["customer", "at"], name="portal_visit_customer")]


class PortalRequest(models.Model):
    class Kind(models.TextChoices):
        PAID = "paid", "déjà payé"
        DISPUTE = "dispute", "contestation"
        PLAN = "plan", "demande d'échéancier"

    class State(models.TextChoices):
        OPEN = "open", "à examiner"
        HANDLED = "handled", "traitée"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="portal_requests")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_requests")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    invoices = models.ManyToManyField(Invoice, related_name="portal_requests")
    paid_on = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    comment = models.TextField(blank=True)
    # A payment plan asked for: the number of instalments the customer proposes.
    instalments = models.PositiveSmallIntegerField(null=True, blank=True)
    proof = models.FileField(upload_to="portal/proofs/%Y/%m/", blank=True)
    # The reminder whose link the customer followed, when the link names one.
    reminder = models.ForeignKey("dunning.Reminder", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="portal_requests")
    task = models.ForeignKey("dunning.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "state"], name="portal_request_queue"),
            # The answers of a customer (its timeline, the per-hour limit on answers).
            models.Index(fields=["customer", "created_at"], name="portal_request_customer"),
        ]
