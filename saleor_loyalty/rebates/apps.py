from django.apps import AppConfig


class RebatesConfig(AppConfig):
    name = "saleor_loyalty.rebates"
    label = "rebates"

    def ready(self) -> None:
        from . import (
            receivers,  # noqa: F401 - connects the order_reconciled receiver
            stripe_payout,  # registers Stripe's webhook handlers (on import)
        )

        stripe_payout.register()  # the payer for method "stripe"
