"""The one place the service builds its PrestaShop connector from settings.

One `ShopSync` (and so one `requests.Session` with its connection pool) per process and shop
configuration; tests that point PRESTASHOP_URL elsewhere get a fresh one.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from connectors.http import RemoteError
from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.sync import ShopSync

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_instances: dict[tuple, ShopSync] = {}
_category_clients: dict[tuple, PrestaShopClient] = {}


def get_shop() -> ShopSync:
    key = (
        settings.PRESTASHOP_URL,
        settings.PRESTASHOP_API_KEY,
        settings.PRESTASHOP_DEFAULT_CATEGORY_ID,
        settings.PRESTASHOP_TIMEOUT,
        settings.PRESTASHOP_IMAGE_MAX_BYTES,
        settings.PRESTASHOP_IMAGE_MAX_PIXELS,
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
            client.categories_ttl = float(settings.PRESTASHOP_CATEGORY_CACHE_SECONDS)
            shop = ShopSync(
                client,
                default_category_id=settings.PRESTASHOP_DEFAULT_CATEGORY_ID,
                image_max_bytes=settings.PRESTASHOP_IMAGE_MAX_BYTES,
                image_max_pixels=settings.PRESTASHOP_IMAGE_MAX_PIXELS,
            )
            _instances.clear()
            _instances[key] = shop
        return shop


def _category_client() -> PrestaShopClient:
    """A client for the request-path category check: no retries and short timeouts, so a delivery is
    answered at once even when the shop is down (its own category cache, refreshed on a miss)."""
    key = ("categories", settings.PRESTASHOP_URL, settings.PRESTASHOP_API_KEY)
    with _lock:
        client = _category_clients.get(key)
        if client is None:
            client = PrestaShopClient(
                settings.PRESTASHOP_URL,
                settings.PRESTASHOP_API_KEY,
                timeout=min(5.0, settings.PRESTASHOP_TIMEOUT),
                connect_timeout=min(2.0, settings.PRESTASHOP_CONNECT_TIMEOUT),
                max_retries=0,
            )
            client.categories_ttl = float(settings.PRESTASHOP_CATEGORY_CACHE_SECONDS)
            _category_clients.clear()
            _category_clients[key] = client
        return client


def shop_unknown_categories(ids: list[int]) -> list[int]:
    """Category ids the shop does not have. When the shop cannot be reached the check is skipped
    (the product is stored and its job fails with the shop's own answer if anything is wrong):
    an unreachable shop must never make the service lose what the ERP sent."""
    try:
        return _category_client().unknown_categories(ids)
    except RemoteError as exc:
        logger.warning("Category check skipped, the shop did not answer it: %s", exc)
        return []
