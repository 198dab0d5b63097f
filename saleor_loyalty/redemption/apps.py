from django.apps import AppConfig


class RedemptionConfig(AppConfig):
    name = "saleor_loyalty.redemption"
    label = "redemption"

    def ready(self) -> None:
        from saleor_loyalty.program import extensions

        from .order_settlement import OrderRedemptions

        extensions.supply_redemptions(OrderRedemptions())  # the order settlement spends and returns points
