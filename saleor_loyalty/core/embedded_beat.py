"""The periodic work Celery beat does in production, run in a thread for the embedded first run.

Without a broker there is no beat: failed inbox events would never be retried, points never unlock and abandoned
redemptions never expire. ``serve`` starts this loop when ``CELERY_BROKER_URL`` is empty; it runs the jobs of
``saleor_loyalty.schedule`` (the table beat's schedule is made from), each task found by its name.
"""

import logging
import threading
import time

from django.db import close_old_connections, connection

from saleor_loyalty.celery_app import app
from saleor_loyalty.schedule import JOBS

logger = logging.getLogger(__name__)
INTERVAL_SECONDS = 60.0


def run_periodic_tasks() -> None:
    """Every periodic job once, in the table's order (the PostgreSQL-only ones only on PostgreSQL)."""
    app.loader.import_default_modules()  # the apps' tasks modules, as a worker imports them (once; then a no-op)
    for job in JOBS:
        if job.postgresql_only and connection.vendor != "postgresql":
            continue
        try:
            app.tasks[job.task]()
        except Exception:  # keep the loop alive; the next round retries
            logger.exception("periodic task failed", extra={"data": {"task": job.task}})


def start(interval: float = INTERVAL_SECONDS) -> threading.Thread:
    def loop() -> None:
        while True:
            time.sleep(interval)
            run_periodic_tasks()
            close_old_connections()

    thread = threading.Thread(target=loop, name="embedded-beat", daemon=True)
    thread.start()
    return thread
