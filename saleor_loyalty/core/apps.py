from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "saleor_loyalty.core"
    label = "core"

    def ready(self) -> None:
        from .logging import install_record_factory

        install_record_factory()
