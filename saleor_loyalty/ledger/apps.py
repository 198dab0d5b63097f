from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "saleor_loyalty.ledger"
    label = "ledger"
