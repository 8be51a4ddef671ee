"""The sandbox PrestaShop driven in process (`sandboxes.prestashop.inprocess`: no socket, no thread), so
connector tests talk to the same emulator as the end-to-end tests, with its fault injection."""

from __future__ import annotations

import pytest

from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.facts import MemoryStore, ShopFacts
from connectors.prestashop.sync import ShopSync
from sandboxes.prestashop import SandboxPrestaShop
from sandboxes.prestashop.inprocess import in_process_session

BASE = "http://shop.test"
KEY = "INPROCESSKEYINPROCESSKEYINPROC32"


def log(shop: SandboxPrestaShop, since: int = 0) -> list[str]:
    """The shop's calls as "METHOD resource/path" (no query, no /api/ prefix)."""
    return [f"{method} {target.split('?')[0].removeprefix('/api/')}" for method, target in shop.calls[since:]]


def in_process_client(shop: SandboxPrestaShop) -> PrestaShopClient:
    client = PrestaShopClient(BASE, KEY, session=in_process_session(shop, BASE))
    client._sleep = lambda s: None
    return client


def new_sync(shop: SandboxPrestaShop, store: MemoryStore | None = None, **kwargs) -> ShopSync:
    """A ShopSync on its own client; `store` shared = facts cached by another process."""
    client = in_process_client(shop)
    facts = ShopFacts(client, store if store is not None else MemoryStore(), key_prefix="shop-test")
    return ShopSync(client, facts, default_category_id=2, **kwargs)


@pytest.fixture
def shop() -> SandboxPrestaShop:
    return SandboxPrestaShop(api_key=KEY)  # never started: the adapter calls it directly


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def sync(shop, store) -> ShopSync:
    return new_sync(shop, store)


@pytest.fixture
def client(sync) -> PrestaShopClient:
    return sync.client
