from __future__ import annotations

from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "relance.dunning"
    label = "dunning"

    def ready(self) -> None:
        # Imported here: signal receivers need the models, which are ready only now.
        from relance.dunning import signals
        from relance.ledger.signals import ledger_changed

        ledger_changed.connect(signals.refresh_after_ledger_change, dispatch_uid="dunning.refresh_next_dates")
