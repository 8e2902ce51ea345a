from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "relance.ledger"
    label = "ledger"

    def ready(self) -> None:
        from relance.ledger import totals  # noqa: F401  (its receivers follow single invoice saves)
