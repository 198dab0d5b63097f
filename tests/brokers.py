"""Running the app's Celery against a real broker inside a test, and back to eager afterwards."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery

from saleor_loyalty.celery_app import app
from saleor_loyalty.webhooks import tasks


def drop_broker_connections(celery: Celery) -> None:
    """Celery caches broker connections per app; after changing the broker URL they must be reopened."""
    celery.close()
    celery.amqp._producer_pool = None


@contextmanager
def celery_through(broker_url: str) -> Iterator[Celery]:
    """The app's Celery publishing to ``broker_url`` (no longer eagerly) inside, as it was afterwards.

    Ingest's drain signals (a trailing timer, publishing threads) are waited for before eager mode comes back: fired
    later, they would run ``drain_inbox`` eagerly in their own thread and keep a database connection open."""
    previous = (app.conf.task_always_eager, app.conf.broker_url, app.conf.result_backend)
    app.conf.update(task_always_eager=False, broker_url=broker_url, result_backend=None)
    drop_broker_connections(app)
    try:
        yield app
    finally:
        trailing = tasks._trailing
        if trailing is not None:
            trailing.join(timeout=10)
        for thread in threading.enumerate():
            if thread.name == "inbox-drain-signal":
                thread.join(timeout=10)
        app.conf.update(task_always_eager=previous[0], broker_url=previous[1], result_backend=previous[2])
        drop_broker_connections(app)
