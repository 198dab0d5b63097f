"""Diagnostic only: the real app with the per-delivery Celery enqueue replaced by a no-op.

``bench/ingest.py --diagnose`` serves this next to the app to show how much of the ingest cost is the
``process_inbox_event.delay(...)`` publish. Never a deployment target: events stored this way are not processed
until the redelivery sweep finds them.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_loyalty.settings")
application = get_wsgi_application()

from saleor_loyalty.webhooks import views  # noqa: E402 - Django must be set up first


def _no_enqueue(event_id: int) -> None:
    return None


setattr(views, "enqueue", _no_enqueue)  # noqa: B010 - the name is not exported
