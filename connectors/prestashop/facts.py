"""Facts about the shop every push needs: its language ids and its category ids, read once for all processes.

The values live in a store shared by every process (the service passes Django's cache, Redis in
production), stamped with when they were read. `refresh()` is the one path that reads them from the shop;
everything else reads the store and calls `refresh()` only when a value is missing or older than its TTL.
`cached_categories()` never calls the shop (for the request path, which must not wait on it).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

from connectors.prestashop.client import PrestaShopClient


class FactStore(Protocol):
    def get(self, key: str, default: object = None) -> object: ...

    def set(self, key: str, value: object, timeout: float | None = None) -> None: ...


class MemoryStore:
    """A process-local store (tests, scripts)."""

    def __init__(self) -> None:
        self._data: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, key: str, default: object = None) -> object:
        with self._lock:
            return self._data.get(key, default)

    def set(self, key: str, value: object, timeout: float | None = None) -> None:
        with self._lock:
            self._data[key] = value


@dataclass(frozen=True)
class Fact:
    ids: tuple[int, ...]
    read_at: float  # time.time() when read from the shop

    def age(self) -> float:
        return time.time() - self.read_at


class ShopFacts:
    def __init__(
        self,
        client: PrestaShopClient,
        store: FactStore,
        *,
        key_prefix: str,
        languages_ttl: float = 3600.0,
        categories_ttl: float = 300.0,
    ) -> None:
        self.client = client
        self.store = store
        self.key_prefix = key_prefix
        self.ttl = {"languages": float(languages_ttl), "categories": float(categories_ttl)}
        self._lock = threading.Lock()  # one refresh at a time in this process

    # ------------------------------------------------------------------ reads (store first)
    def cached(self, name: str) -> Fact | None:
        """The stored fact, fresh or not, without any call."""
        raw = self.store.get(f"{self.key_prefix}:{name}")
        if not isinstance(raw, dict) or "ids" not in raw:
            return None
        return Fact(tuple(int(i) for i in raw["ids"]), float(raw.get("at") or 0))

    def cached_categories(self) -> set[int] | None:
        fact = self.cached("categories")
        return set(fact.ids) if fact else None

    def _fresh(self, name: str) -> Fact:
        fact = self.cached(name)
        if fact is not None and fact.age() < self.ttl[name]:
            return fact
        return self.refresh(name)

    def languages(self) -> list[int]:
        """Ids of every shop language (multilang fields must be sent in all of them)."""
        return list(self._fresh("languages").ids)

    def categories(self) -> set[int]:
        return set(self._fresh("categories").ids)

    def unknown_categories(self, ids: list[int]) -> list[int]:
        """The ids among `ids` the shop does not have; a miss re-reads the list once unless it is brand new."""
        fact = self._fresh("categories")
        missing = [i for i in ids if int(i) not in fact.ids]
        if missing and fact.age() > 1.0:
            fact = self.refresh("categories")
            missing = [i for i in ids if int(i) not in fact.ids]
        return missing

    # ------------------------------------------------------------------ the one refresh path
    def refresh(self, name: str) -> Fact:
        """Read one fact (`languages` or `categories`) from the shop and store it for every process."""
        with self._lock:
            ids: list[int] | set[int]
            if name == "languages":
                ids = self.client.languages()
            elif name == "categories":
                ids = self.client.category_ids()
            else:
                raise ValueError(f"unknown shop fact {name!r}")
            fact = Fact(tuple(sorted(ids)), time.time())
            self.store.set(f"{self.key_prefix}:{name}", {"ids": list(fact.ids), "at": fact.read_at}, None)
            return fact

    # ------------------------------------------------------------------ learnt from the shop's answers
    def image_max_bytes(self, default: int) -> int:
        """The largest upload the shop accepted to take (learnt from its code 72 answer), else `default`."""
        learnt = self.store.get(f"{self.key_prefix}:image_max_bytes")
        return min(int(learnt), default) if isinstance(learnt, int) and learnt > 0 else default

    def remember_image_max_bytes(self, max_bytes: int) -> None:
        self.store.set(f"{self.key_prefix}:image_max_bytes", int(max_bytes), None)

    def refresh_all(self) -> None:
        self.refresh("languages")
        self.refresh("categories")
