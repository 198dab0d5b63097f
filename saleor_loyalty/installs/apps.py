from django.apps import AppConfig


class InstallsConfig(AppConfig):
    # The label is the one the model had while it lived in saleor_loyalty.saleor: migrations/installs/, the
    # installs_install table and other apps' foreign keys ("installs.install") stay as they are.
    name = "saleor_loyalty.installs"
    label = "installs"
    verbose_name = "Saleor installs"
