from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "saleor_loyalty.notifications"
    label = "notifications"

    def ready(self) -> None:
        from importlib.util import find_spec

        # Signal receivers live in receivers.py (see saleor_loyalty.program.signals).
        if find_spec(f"{self.name}.receivers") is not None:
            __import__(f"{self.name}.receivers")
        __import__(f"{self.name}.reminders")  # its periodic task (Celery discovers only ``tasks`` modules)
