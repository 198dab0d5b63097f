from django.apps import AppConfig


class RebatesConfig(AppConfig):
    name = "saleor_loyalty.rebates"
    label = "rebates"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the order_reconciled receiver
        from .models import PayoutMethod
        from .payers import register_payer
        from .store_credit import StoreCreditPayer

        register_payer(PayoutMethod.STORE_CREDIT, StoreCreditPayer())
