from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "relance.reports"
    label = "reports"
    verbose_name = "Rapports"
