"""``core.parallel.map_apart``: units of database work on several connections at once where other connections can
see the data (PostgreSQL, outside a transaction), on the caller's thread otherwise; results in order, the first
error raised, every thread's connection closed."""

import threading
import time

import pytest
from django.db import connection

from saleor_loyalty.core.parallel import can_run_apart, map_apart


def _backend(item: int) -> tuple[int, int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    return item * item, pid, threading.current_thread().name


def _sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db
def test_inside_a_transaction_the_units_run_here_one_after_the_other():
    assert not can_run_apart()  # the test's transaction: other connections would not see its rows
    seen: list[int] = []
    results = map_apart(_backend, list(range(6)), workers=4, on_done=lambda r: seen.append(r[0]))
    assert [r[0] for r in results] == [0, 1, 4, 9, 16, 25]
    assert {r[2] for r in results} == {threading.current_thread().name}
    assert seen == [0, 1, 4, 9, 16, 25]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_units_run_on_connections_of_their_own_and_those_are_closed():
    before = _sessions()
    release = threading.Barrier(3, timeout=30)

    def unit(item: int) -> tuple[int, int, str]:
        if item < 3:
            release.wait()  # the first three run at the same time, or this never returns
        return _backend(item)

    done: list[int] = []
    results = map_apart(unit, list(range(12)), workers=3, on_done=lambda r: done.append(r[0]))

    assert [r[0] for r in results] == [i * i for i in range(12)]
    assert sorted(done) == sorted(r[0] for r in results)
    assert len({pid for _, pid, _ in results}) == 3
    assert {name for _, _, name in results} == {"apart-0", "apart-1", "apart-2"}
    deadline = time.monotonic() + 5  # a closed connection's server process takes a moment to leave the list
    while _sessions() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sessions() <= before  # every thread closed its connection


@pytest.mark.django_db(transaction=True)
def test_the_first_error_stops_the_others_taking_more_and_is_raised():
    taken: list[int] = []
    lock = threading.Lock()

    def unit(item: int) -> int:
        with lock:
            taken.append(item)
        if item == 1:
            raise ValueError("unit 1 failed")
        return item

    with pytest.raises(ValueError, match="unit 1 failed"):
        map_apart(unit, list(range(200)), workers=2)
    assert 1 in taken and len(taken) < 200
