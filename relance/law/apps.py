from django.apps import AppConfig
from django.conf import settings


class LawConfig(AppConfig):
    name = "relance.law"
    label = "law"

    def ready(self) -> None:
        # Rate tables written by `relance rates update` live in the data dir and replace the shipped ones.
        from relance.law.rates import set_updates_dir

        set_updates_dir(settings.DATA_DIR / "rates")
