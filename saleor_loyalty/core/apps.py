from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "saleor_loyalty.core"
    label = "core"
