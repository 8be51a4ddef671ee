"""The webhook's category check: answered from the shared cache, never by a call to the shop.

The shop's category ids live in Django's cache (Redis in production, so one copy for every process), in the
entry of the shop's facts (`connectors/prestashop/facts.py`: `<prefix>:categories`, `{"ids", "at"}`), which
the workers read and refresh too. `categories_refresh()` is the webhook's refresher; it runs in the worker: every
`PRESTASHOP_CATEGORY_REFRESH_SECONDS` from beat, and soon after a delivery names a category the cached list
does not have (one request per `PRESTASHOP_CATEGORY_REFRESH_SECONDS` at most, however many deliveries miss).
A failed refresh is cached too (`PRESTASHOP_CATEGORY_FAILURE_SECONDS`, a circuit breaker): until it
expires no process asks the shop again.

The request path reads the entry (kept in process memory for `CATEGORY_LOCAL_SECONDS`, so most deliveries
make no cache call either) and answers:
- every id in the list → valid;
- an id missing from a list younger than `PRESTASHOP_CATEGORY_CACHE_SECONDS` → unknown (422), and a
  refresh is requested (a category created in the shop a moment ago is known a moment later);
- no list, or only an older one (the shop has not answered for a while) → the categories cannot be
  known: the delivery is accepted and the job reports what it could not check (`category_warnings`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from connectors.http import RemoteError
from syncjobs.services.enqueue import task_send
from syncjobs.services.shop import shop_facts

logger = logging.getLogger(__name__)

CATEGORY_LOCAL_SECONDS = 5.0  # how long a process trusts its in-memory copy of the cache entry
_local_lock = threading.Lock()
_local: dict[str, tuple[float, dict | None]] = {}
_requested_at: dict[str, float] = {}  # when this process last asked for a refresh (saves a cache call per miss)


@dataclass(frozen=True)
class CategoryCheck:
    unknown: list[int] = field(default_factory=list)  # the shop does not have them: 422
    unverified: list[int] = field(default_factory=list)  # could not be checked: accepted, reported by the job


def _shop_key() -> str:
    """Cache key prefix of the configured shop's facts (the same entries the workers read and write)."""
    return shop_facts().key_prefix


def categories_key() -> str:
    return f"{_shop_key()}:categories"


def _failure_key() -> str:
    return f"{_shop_key()}:categories-failed"


def _requested_key() -> str:
    return f"{_shop_key()}:categories-refresh-requested"


def _entry(*, local: bool = True) -> dict | None:
    key = categories_key()
    now = time.monotonic()
    if local:
        with _local_lock:
            held = _local.get(key)
        if held is not None and now - held[0] < CATEGORY_LOCAL_SECONDS:
            return held[1]
    try:
        entry = cache.get(key)
    except Exception:  # the cache is down: the categories cannot be known
        logger.warning("Category list unavailable: the cache did not answer", exc_info=True)
        entry = None
    if not (isinstance(entry, dict) and isinstance(entry.get("ids"), list)):
        entry = None
    elif "set" not in entry:
        entry = {**entry, "set": frozenset(int(i) for i in entry["ids"])}
    with _local_lock:
        _local.clear()  # one shop at a time
        _local[key] = (now, entry)
    return entry


def _forget_local() -> None:
    with _local_lock:
        _local.clear()
        _requested_at.clear()


def categories_refresh_request() -> bool:
    """Ask a worker to refresh the list (at most once per refresh period, whatever the number of misses)."""
    from webhooks.tasks import shop_categories_refresh_task  # webhooks.tasks imports this module

    key, now = _requested_key(), time.monotonic()
    with _local_lock:
        if now - _requested_at.get(key, -1e9) < min(
            CATEGORY_LOCAL_SECONDS, settings.PRESTASHOP_CATEGORY_REFRESH_SECONDS
        ):
            return False
        _requested_at.clear()
        _requested_at[key] = now
    try:
        if not cache.add(key, 1, timeout=settings.PRESTASHOP_CATEGORY_REFRESH_SECONDS):
            return False
    except Exception:
        logger.warning("Category refresh not requested: the cache did not answer", exc_info=True)
        return False
    return task_send(shop_categories_refresh_task, what="shop category refresh")


def categories_check(ids: list[int]) -> CategoryCheck:
    """Which of `ids` the shop does not have, or could not be checked. Never calls the shop."""
    if not ids:
        return CategoryCheck()
    entry = _entry()
    if entry is None:
        categories_refresh_request()
        return CategoryCheck(unverified=list(ids))
    missing = [i for i in ids if int(i) not in entry["set"]]
    if not missing:
        return CategoryCheck()
    categories_refresh_request()  # the list may predate a category created since
    age = time.time() - float(entry.get("at") or 0)
    if age <= settings.PRESTASHOP_CATEGORY_CACHE_SECONDS:
        return CategoryCheck(unknown=missing)
    return CategoryCheck(unverified=missing)


def categories_refresh(*, force: bool = False) -> bool:
    """Read the shop's category ids into the shared cache (worker and beat only). A failure is cached for
    `PRESTASHOP_CATEGORY_FAILURE_SECONDS`, during which nobody asks the shop again unless `force`."""
    if not force and cache.get(_failure_key()):
        return False
    try:
        shop_facts().refresh("categories")  # the one refresh path of the shop's facts: writes categories_key()
    except RemoteError as exc:
        cache.set(
            _failure_key(), {"error": str(exc)[:500], "at": time.time()}, settings.PRESTASHOP_CATEGORY_FAILURE_SECONDS
        )
        logger.warning(
            "Shop category list not refreshed (%s); next try in %ss", exc, settings.PRESTASHOP_CATEGORY_FAILURE_SECONDS
        )
        return False
    cache.delete(_failure_key())
    _forget_local()
    return True


def category_warnings(category_ids: list[int]) -> list[str]:
    """What a job says about its product's categories the shop's cached list does not confirm (the shop
    stores a link to an unknown category without complaint). No call to the shop."""
    if not category_ids:
        return []
    entry = _entry(local=False)
    if entry is None:
        return [
            f"Category {cid} could not be checked: the shop's category list is not known yet." for cid in category_ids
        ]
    return [f"Category {cid} does not exist in PrestaShop." for cid in category_ids if int(cid) not in entry["set"]]
