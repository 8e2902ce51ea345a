"""The audit log: an append-only, hash-chained list of what happened, per organisation.

Entries are written only by relance.audit.log (record / record_many); nothing updates or deletes
them: the model refuses it, and on PostgreSQL a trigger (migration 0001) refuses it in the database.
The one exception: an organisation deleted takes its entries with it, after its log was archived
(relance.audit.archive).
"""

from __future__ import annotations

import json
from functools import cached_property

from django.db import models

from relance.accounts.models import Organisation


class AppendOnlyError(Exception):
    """An audit entry may not be changed or removed."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are append-only: no update")

    def delete(self):
        raise AppendOnlyError("audit entries are append-only: no delete")

    _raw_delete = delete


class AuditEntry(models.Model):
    # No database constraint and no cascade: an organisation is deleted first, then its entries (its
    # log archived before: relance.accounts.actions.delete_organisation), the only removal the
    # trigger allows, for entries whose organisation row no longer exists (migration 0002).
    organisation = models.ForeignKey(Organisation, on_delete=models.DO_NOTHING, db_constraint=False,
                                     related_name="+")
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    kind = models.CharField(max_length=40)
    actor = models.CharField(max_length=150)  # a username, or "system" / "cli" / "portal"
    actor_id = models.IntegerField(null=True, blank=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    object_label = models.CharField(max_length=200, blank=True)  # an invoice number, a customer code
    customer_id = models.IntegerField(null=True, blank=True)  # the customer concerned, for its dossier
    # The data as hashed: canonical JSON text (relance.audit.chain.data_text). Kept as text, not as a
    # JSON column, so that verifying hashes the stored bytes without parsing and writing them again.
    data_json = models.TextField(default="{}")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "seq"], name="audit_entry_org_seq")]
        indexes = [
            # The page's filters and the evidence dossier (a customer's entries).
            models.Index(fields=["organisation", "kind", "seq"], name="audit_entry_org_kind"),
            models.Index(fields=["organisation", "customer_id", "seq"], name="audit_entry_org_customer"),
        ]
        verbose_name = "entrée du journal d'audit"
        verbose_name_plural = "journal d'audit"

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.object_label}"

    @cached_property
    def data(self) -> dict:
        return json.loads(self.data_json)

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"audit entry #{self.seq}: append-only, no update")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"audit entry #{self.seq}: append-only, no delete")


class AuditAnchor(models.Model):
    """The chain's head, rewritten with each append: how many entries and the last hash.

    It is the lock appends take (one organisation's appends go one after the other) and the
    checkpoint that shows a truncated tail: entries removed from the end leave a chain that is
    intact by itself but shorter than the anchor says. (Whoever can rewrite both tables can hide a
    truncation; `relance verify-log --expect HASH` compares with a hash kept outside the database.)
    """

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, primary_key=True,
                                        related_name="+")
    count = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
