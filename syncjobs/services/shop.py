"""The one place the service builds its PrestaShop connector from settings.

One `ShopSync` (and so one `requests.Session` with its connection pool) per process and shop
configuration; tests that point PRESTASHOP_URL elsewhere get a fresh one.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from connectors.http import RemoteUnavailable
from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.sync import ShopSync

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_instances: dict[tuple, ShopSync] = {}


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


def shop_unknown_categories(ids: list[int]) -> list[int]:
    """Category ids the shop does not have. When the shop cannot be reached the check is skipped
    (the product is stored and its job will fail with the shop's own answer if a category is bad):
    an unreachable shop must never make the service lose what the ERP sent."""
    try:
        return get_shop().check_categories(ids)
    except RemoteUnavailable as exc:
        logger.warning("Category check skipped, shop unreachable: %s", exc)
        return []
