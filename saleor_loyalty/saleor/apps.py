from django.apps import AppConfig


class InstallsConfig(AppConfig):
    name = "saleor_loyalty.saleor"
    label = "installs"
    verbose_name = "Saleor installs"
