from django.apps import AppConfig


class RebatesConfig(AppConfig):
    name = "saleor_loyalty.rebates"
    label = "rebates"

    def ready(self) -> None:
        from saleor_loyalty.program import extensions

        from . import (
            receivers,  # noqa: F401 - connects the order_reconciled receiver
            stripe_payout,  # registers Stripe's webhook handlers (on import)
        )
        from .models import PayoutMethod
        from .payers import register_payer
        from .spent_credit import store_credit_spent
        from .store_credit import StoreCreditPayer

        register_payer(PayoutMethod.STORE_CREDIT, StoreCreditPayer())
        extensions.supply_store_credit(store_credit_spent)  # store credit spent on an order earns no points
        stripe_payout.register()  # the payer for method "stripe"
