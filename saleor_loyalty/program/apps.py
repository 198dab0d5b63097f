from django.apps import AppConfig


class ProgramConfig(AppConfig):
    name = "saleor_loyalty.program"
    label = "program"
