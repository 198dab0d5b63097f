"""The periodic work Celery beat does in production, run in a thread for the embedded first run.

Without a broker there is no beat: failed inbox events would never be retried, points never unlock and abandoned
redemptions never expire. ``serve`` starts this loop when ``CELERY_BROKER_URL`` is empty; it runs the jobs of
``saleor_loyalty.schedule`` (the table beat's schedule is made from), each task found by its name, each on its own
schedule as beat would: a job every N seconds first at the loop's first round and then once N seconds have passed,
a crontab job at its times (the loop looks once a minute, so a job runs at most once a minute).
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from django.db import close_old_connections, connection
from django.utils import timezone

from saleor_loyalty.celery_app import app
from saleor_loyalty.schedule import JOBS, PeriodicJob

logger = logging.getLogger(__name__)
INTERVAL_SECONDS = 60.0


def run_periodic_tasks(jobs: Iterable[PeriodicJob] = JOBS) -> None:
    """``jobs`` (every periodic job) once, in the table's order (the PostgreSQL-only ones only on PostgreSQL)."""
    app.loader.import_default_modules()  # the apps' tasks modules, as a worker imports them (once; then a no-op)
    for job in jobs:
        if job.postgresql_only and connection.vendor != "postgresql":
            continue
        try:
            app.tasks[job.task]()
        except Exception:  # keep the loop alive; the next round retries
            logger.exception("periodic task failed", extra={"data": {"task": job.task}})


class Schedule:
    """Which jobs are due, round after round: what beat's scheduler decides, for the embedded loop."""

    def __init__(
        self,
        jobs: Iterable[PeriodicJob] = JOBS,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.jobs = tuple(jobs)
        self.clock, self.now = clock, now
        self._ran_at: dict[str, float] = {}  # interval jobs: when last run (clock)
        started = now()
        self._cron_ran_at: dict[str, datetime] = {  # crontab jobs: due at their first time after the start
            job.name: started for job in self.jobs if not isinstance(job.every, int | float)
        }

    def due(self) -> list[PeriodicJob]:
        """The jobs to run now, marked as run."""
        ticks, now, due = self.clock(), self.now(), []
        for job in self.jobs:
            if isinstance(job.every, int | float):
                last = self._ran_at.get(job.name)
                if last is None or ticks - last >= job.every:
                    self._ran_at[job.name] = ticks
                    due.append(job)
            else:
                last, until_next, _ = job.every.remaining_delta(self._cron_ran_at[job.name])
                if last + until_next <= now:  # its next time after the last run has come
                    self._cron_ran_at[job.name] = now
                    due.append(job)
        return due


def start(interval: float = INTERVAL_SECONDS) -> threading.Thread:
    schedule = Schedule()

    def loop() -> None:
        while True:
            time.sleep(interval)
            run_periodic_tasks(schedule.due())
            close_old_connections()

    thread = threading.Thread(target=loop, name="embedded-beat", daemon=True)
    thread.start()
    return thread
