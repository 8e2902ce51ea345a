from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "relance.dunning"
    label = "dunning"
