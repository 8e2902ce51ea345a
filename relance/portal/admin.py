from django.contrib import admin

from relance.portal.models import PortalRequest, PortalVisit
from relance.web.admin_actions import ReadOnlyAdmin


@admin.register(PortalVisit)
class PortalVisitAdmin(ReadOnlyAdmin):
    list_display = ("customer", "at", "page", "ip_address")


@admin.register(PortalRequest)
class PortalRequestAdmin(ReadOnlyAdmin):
    list_display = ("customer", "kind", "state", "created_at")
    list_filter = ("kind", "state")
