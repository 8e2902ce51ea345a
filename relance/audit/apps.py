from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "relance.audit"
    label = "audit"
    verbose_name = "journal d'audit"
