from django.apps import AppConfig


class ProgramConfig(AppConfig):
    name = "saleor_loyalty.program"
    label = "program"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal receivers
