from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "saleor_loyalty.payments"
    label = "payments"
    verbose_name = "Stripe payments"
