"""The Django admin of the instance's operators: superusers only.

Organisation members (owners, collectors, viewers) work in the web app and the CLI, where every query
is filtered by their memberships; the admin sees every organisation, so it is not theirs.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class RelanceAdminSite(admin.AdminSite):
    site_header = "Relance — administration de l'instance"
    site_title = "Relance"

    def has_permission(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_superuser


class RelanceAdminConfig(AdminConfig):
    default_site = "relance.web.admin_site.RelanceAdminSite"
