from django.apps import AppConfig


class RebatesConfig(AppConfig):
    name = "saleor_loyalty.rebates"
    label = "rebates"

    def ready(self) -> None:
        from . import (
            receivers,  # noqa: F401 - connects the order_reconciled receiver
            stripe_payout,  # registers Stripe's webhook handlers (on import)
        )
        from .models import PayoutMethod
        from .payers import register_payer
        from .store_credit import StoreCreditPayer

        register_payer(PayoutMethod.STORE_CREDIT, StoreCreditPayer())
        stripe_payout.register()  # the payer for method "stripe"
