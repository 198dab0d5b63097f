from django.apps import AppConfig


class MembershipsConfig(AppConfig):
    name = "saleor_loyalty.memberships"
    label = "memberships"

    def ready(self) -> None:
        from . import stripe_events  # noqa: F401 - registers the Stripe webhook handlers (payments.events.handles)
