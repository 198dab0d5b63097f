"""A store's configuration, cached per process while events are processed, by the store's configuration version.

An earn used to read the same configuration rows on every event (program settings, tier settings twice, the earn
rule, the campaigns: 5 statements of ~20, issue #10). ``process_event`` reads the store's version
(``ConfigVersion``, bumped by PostgreSQL triggers in the transaction of every writer) in the statement that locks
the event, and runs the handler under ``known_version``; inside it ``cached`` answers from this process's copy read
at that same version, else reads the rows and keeps them — once the transaction that read them commits (a rolled
back read, e.g. of a settings row it created, is never kept).

Why that is safe: the version is read before the rows, so rows kept under version V are at least as new as V; a
writer that commits later sets a version never used before (one sequence for all stores), so the next event sees
a different version and reads again. Outside ``known_version`` (the API, tasks, tests calling actions directly),
and on any other database than PostgreSQL (no triggers), nothing is cached: every call reads.
"""

import copy
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import connection, transaction

T = TypeVar("T")

# (database, install id, version) this transaction read in the statement that locked its event
_known: ContextVar[tuple[str, int, int] | None] = ContextVar("config_version", default=None)
# (database, install id) -> (version, {key: value read at that version})
_cache: dict[tuple[str, int], tuple[int, dict[Hashable, Any]]] = {}
# Within ``one_transaction``: what its events read, (database, install id, version, key) -> value, for the events
# after them in the same transaction (not kept for others until it commits).
_read_here: ContextVar[dict[tuple[str, int, int, Hashable], Any] | None] = ContextVar("config_read_here", default=None)


def _database() -> str:
    return str(connection.settings_dict["NAME"])


@contextmanager
def known_version(install_id: int, version: int | None) -> Iterator[None]:
    """Within: the store's configuration is at ``version`` (None: unknown, nothing cached)."""
    usable = version is not None and connection.vendor == "postgresql"
    token = _known.set((_database(), install_id, version) if usable and version is not None else None)
    try:
        yield
    finally:
        _known.reset(token)


def cached(install_id: int, key: Hashable, read: Callable[[], T]) -> T:
    """``read()``'s value for this store, from this process's copy when the version is known and unchanged.

    A copy (``copy.copy``) is returned each time, so a caller that changes what it got (a model instance) changes
    only its own."""
    known = _known.get()
    if known is None or known[1] != install_id:
        return read()
    database, _, version = known
    entry = _cache.get((database, install_id))
    if entry is not None and entry[0] == version and key in entry[1]:
        kept_value: T = copy.copy(entry[1][key])
        return kept_value
    read_here = _read_here.get()
    if read_here is not None and (database, install_id, version, key) in read_here:
        return copy.copy(read_here[(database, install_id, version, key)])  # type: ignore[no-any-return]
    value = read()
    kept = copy.copy(value)
    transaction.on_commit(lambda: _keep(database, install_id, version, key, kept))
    if read_here is not None:
        read_here[(database, install_id, version, key)] = kept
    return value


@contextmanager
def one_transaction() -> Iterator[None]:
    """Within: the events run in one transaction (a batch): what one reads at a version, the next ones of the same
    transaction use too, instead of reading it again until the commit keeps it. Wrap the transaction's block (not
    inside it): what was read is forgotten when it ends, however it ends."""
    token = _read_here.set({})
    try:
        yield
    finally:
        _read_here.reset(token)


def _keep(database: str, install_id: int, version: int, key: Hashable, value: Any) -> None:
    entry = _cache.get((database, install_id))
    if entry is None or entry[0] != version:  # only an exact version is ever used: the newest keep wins
        _cache[(database, install_id)] = (version, {key: value})
    else:
        entry[1][key] = value


def clear() -> None:
    """Forget every kept configuration (tests)."""
    _cache.clear()
