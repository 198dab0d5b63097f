from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "saleor_loyalty.api"
    label = "loyalty_api"
