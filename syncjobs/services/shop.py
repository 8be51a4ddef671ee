"""The one place the service builds its PrestaShop connector from settings.

One `ShopSync` (and so one `requests.Session` with its connection pool) per process and shop
configuration; tests that point PRESTASHOP_URL elsewhere get a fresh one. The shop's facts (languages,
categories, the image size it accepts) live in Django's cache, shared by every process when CACHE_URL is
Redis: whichever process reads them first from the shop, the others make no call for them.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

from django.conf import settings
from django.core.cache import cache

from connectors.http import RemoteError
from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.facts import ShopFacts
from connectors.prestashop.sync import ShopSync

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_instances: dict[tuple[Any, ...], ShopSync] = {}
_category_facts: dict[tuple[Any, ...], ShopFacts] = {}


def _facts_key() -> str:
    """Cache key prefix of one shop's facts (the URL and key identify the shop; the key is hashed)."""
    ident = f"{settings.PRESTASHOP_URL}|{settings.PRESTASHOP_API_KEY}".encode()
    return "prestashop-facts:" + hashlib.sha256(ident).hexdigest()[:16]


def _facts(client: PrestaShopClient) -> ShopFacts:
    return ShopFacts(
        client,
        cache,
        key_prefix=_facts_key(),
        categories_ttl=float(settings.PRESTASHOP_CATEGORY_CACHE_SECONDS),
    )


def get_shop() -> ShopSync:
    key = (
        settings.PRESTASHOP_URL,
        settings.PRESTASHOP_API_KEY,
        settings.PRESTASHOP_DEFAULT_CATEGORY_ID,
        settings.PRESTASHOP_TIMEOUT,
        settings.PRESTASHOP_IMAGE_MAX_BYTES,
        settings.PRESTASHOP_IMAGE_MAX_PIXELS,
        settings.PRESTASHOP_CATEGORY_CACHE_SECONDS,
    )
    with _lock:
        shop = _instances.get(key)
        if shop is None:
            client = PrestaShopClient(
                settings.PRESTASHOP_URL,
                settings.PRESTASHOP_API_KEY,
                timeout=settings.PRESTASHOP_TIMEOUT,
                connect_timeout=settings.PRESTASHOP_CONNECT_TIMEOUT,
            )
            shop = ShopSync(
                client,
                _facts(client),
                default_category_id=settings.PRESTASHOP_DEFAULT_CATEGORY_ID,
                image_max_bytes=settings.PRESTASHOP_IMAGE_MAX_BYTES,
                image_max_pixels=settings.PRESTASHOP_IMAGE_MAX_PIXELS,
            )
            _instances.clear()
            _instances[key] = shop
        return shop


def shop_facts() -> ShopFacts:
    """The shop's facts as the workers use them (same cache entries as the request path's)."""
    return get_shop().facts


def _category_facts_get() -> ShopFacts:
    """Facts for the request-path category check: the same cache entries as the workers', but a client with
    no retries and short timeouts, so a delivery is answered at once even when the shop is down."""
    key = (
        "categories",
        settings.PRESTASHOP_URL,
        settings.PRESTASHOP_API_KEY,
        settings.PRESTASHOP_CATEGORY_CACHE_SECONDS,
    )
    with _lock:
        facts = _category_facts.get(key)
        if facts is None:
            client = PrestaShopClient(
                settings.PRESTASHOP_URL,
                settings.PRESTASHOP_API_KEY,
                timeout=min(5.0, settings.PRESTASHOP_TIMEOUT),
                connect_timeout=min(2.0, settings.PRESTASHOP_CONNECT_TIMEOUT),
                max_retries=0,
            )
            facts = _facts(client)
            _category_facts.clear()
            _category_facts[key] = facts
        return facts


def shop_unknown_categories(ids: list[int]) -> list[int]:
    """Category ids the shop does not have. When the shop cannot be reached the check is skipped
    (the product is stored and its job fails with the shop's own answer if anything is wrong):
    an unreachable shop must never make the service lose what the ERP sent."""
    try:
        return _category_facts_get().unknown_categories(ids)
    except RemoteError as exc:
        logger.warning("Category check skipped, the shop did not answer it: %s", exc)
        return []
