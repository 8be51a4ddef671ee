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


@contextmanager
def named_locks(names: Iterable[str]) -> Iterator[None]:
    """Hold every named lock (taken in sorted order, so two holders never deadlock)."""
    ordered = sorted(set(names))
    if connection.vendor == "postgresql":
        keys = [_key(n) for n in ordered]
        with connection.cursor() as cursor:
            for key in keys:
                cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                for key in reversed(keys):
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    else:
        locks = [_local(n) for n in ordered]
        for lock in locks:
            lock.acquire()
        try:
            yield
        finally:
            for lock in reversed(locks):
                lock.release()


def reference_lock_name(reference: str) -> str:
    return f"product:{reference}"


@contextmanager
def reference_lock(reference: str) -> Iterator[None]:
    with named_locks([reference_lock_name(reference)]):
        yield


# Finding-or-creating manufacturers and features in the shop is serialised, so two workers never
# create the same manufacturer twice.
SHOP_DEPENDENCIES_LOCK = "shop:dependencies"
