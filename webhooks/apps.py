from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "saleor_loyalty.webhooks"
    label = "webhooks"
