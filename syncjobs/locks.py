"""Locks by product reference that hold across processes and machines.

PostgreSQL: session-level advisory locks (released by the server if the process dies). Other databases
(SQLite under `make run`, one machine): a process-local lock, plus SQLite's own file lock for writes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connection

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _local(name: str) -> threading.Lock:
    with _local_guard:
        return _local_locks.setdefault(name, threading.Lock())


def lock_acquire(name: str) -> None:
    """Take one named lock (blocking). Holders of several take them in sorted order."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_key(name)])
    else:
        _local(name).acquire()


def lock_try(name: str) -> bool:
    """Take one named lock if it is free; never waits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_key(name)])
            return bool(cursor.fetchone()[0])
    return _local(name).acquire(blocking=False)


def lock_release(name: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_key(name)])
    else:
        _local(name).release()


@contextmanager
def named_locks(names: Iterable[str]) -> Iterator[None]:
    """Hold every named lock (taken in sorted order, so two holders never deadlock)."""
    taken: list[str] = []
    try:
        for name in sorted(set(names)):
            lock_acquire(name)
            taken.append(name)
        yield
    finally:
        for name in reversed(taken):
            lock_release(name)


def reference_lock_name(reference: str) -> str:
    return f"product:{reference}"


@contextmanager
def reference_lock(reference: str) -> Iterator[None]:
    with named_locks([reference_lock_name(reference)]):
        yield


# Finding-or-creating manufacturers and features in the shop is serialised, so two workers never
# create the same manufacturer twice.
SHOP_DEPENDENCIES_LOCK = "shop:dependencies"
