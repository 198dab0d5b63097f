from django.apps import AppConfig


class RedemptionConfig(AppConfig):
    name = "saleor_loyalty.redemption"
    label = "redemption"
