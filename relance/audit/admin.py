from django.contrib import admin

from relance.audit.models import AuditAnchor, AuditEntry
from relance.web.admin_actions import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "seq", "at", "kind", "actor", "object_type", "object_label")
    list_filter = ("kind", "object_type")
    search_fields = ("object_label", "actor")
    ordering = ("organisation", "-seq")


@admin.register(AuditAnchor)
class AuditAnchorAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "count", "last_hash", "updated_at")
