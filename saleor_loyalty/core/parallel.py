"""Independent units of database work run on several threads at once, each thread on a connection of its own.

For set-based jobs whose batches touch disjoint rows and each commit on their own (a rebate period's settlement):
PostgreSQL runs one statement on one core, so one connection settles at one core's pace however many the server
has. Threads are enough here: the work is in the database, and the Python between statements is small.

Work runs apart only where it can: on PostgreSQL and outside a transaction. Inside one (a test's, a caller's
``atomic``) other connections would not see its uncommitted rows, and on SQLite a second writer only waits for the
first; there it runs on the caller's thread, one unit after another, with the same results.
"""

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection, connections

T = TypeVar("T")
R = TypeVar("R")


def can_run_apart() -> bool:
    """Other connections would see what this one sees: PostgreSQL, no transaction open on this thread."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def map_apart(
    work: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int,
    on_done: Callable[[R], None] | None = None,
) -> list[R]:
    """``work(item)`` for every item, on up to ``workers`` threads (each with its own database connection, closed
    when the thread ends), in the items' order as they are taken; the results in the items' order. ``on_done`` is
    called with each result as it comes, one call at a time (a progress bar).

    The first error stops the threads taking more items (those running finish) and is raised here; the units done
    before it stay done, so ``work`` must be safe to run again (each unit its own transaction, idempotent)."""
    if workers <= 1 or len(items) <= 1 or not can_run_apart():
        results = []
        for item in items:
            result = work(item)
            if on_done is not None:
                on_done(result)
            results.append(result)
        return results

    todo = deque(enumerate(items))
    results_by_index: dict[int, R] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def take() -> tuple[int, T] | None:
        with lock:
            return None if errors or not todo else todo.popleft()

    def run() -> None:
        try:
            while (taken := take()) is not None:
                index, item = taken
                try:
                    result = work(item)
                except BaseException as exc:  # handed to the caller's thread
                    with lock:
                        errors.append(exc)
                    return
                with lock:
                    results_by_index[index] = result
                    if on_done is not None:
                        on_done(result)
        finally:
            connections.close_all()  # this thread's connections: nobody else can close them

    threads = [threading.Thread(target=run, name=f"apart-{n}") for n in range(min(workers, len(items)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [results_by_index[index] for index in range(len(items))]
