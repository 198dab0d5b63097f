from django.apps import AppConfig


class TiersConfig(AppConfig):
    name = "saleor_loyalty.tiers"
    label = "tiers"

    def ready(self) -> None:
        from importlib.util import find_spec

        # Signal receivers live in receivers.py (see saleor_loyalty.program.signals).
        if find_spec(f"{self.name}.receivers") is not None:
            __import__(f"{self.name}.receivers")

        from saleor_loyalty.program import extensions

        from .queries import tier_and_multiplier

        extensions.supply_tiers(tier_and_multiplier)  # an order's rule snapshot takes the member's tier
