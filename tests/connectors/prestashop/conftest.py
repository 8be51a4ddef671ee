"""The sandbox PrestaShop driven in process: a `requests` adapter hands each call to the sandbox's
Webservice (no socket, no thread), so connector tests talk to the same emulator as the end-to-end tests,
with its fault injection (`fail_next`, `down`)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.facts import MemoryStore, ShopFacts
from connectors.prestashop.sync import ShopSync
from sandboxes.prestashop import SandboxPrestaShop

BASE = "http://shop.test"
KEY = "INPROCESSKEYINPROCESSKEYINPROC32"


class SandboxAdapter(BaseAdapter):
    def __init__(self, shop: SandboxPrestaShop) -> None:
        super().__init__()
        self.shop = shop

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        answer = self.shop.api_request(request.method, unquote(parts.path), parts.query, dict(request.headers), body)
        response = requests.Response()
        response.status_code = answer.status
        response._content = answer.body
        response.headers = CaseInsensitiveDict(answer.headers)
        response.url = request.url
        response.request = request
        response.reason = ""
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        return None


def log(shop: SandboxPrestaShop, since: int = 0) -> list[str]:
    """The shop's calls as "METHOD resource/path" (no query, no /api/ prefix)."""
    return [f"{method} {target.split('?')[0].removeprefix('/api/')}" for method, target in shop.calls[since:]]


def in_process_client(shop: SandboxPrestaShop) -> PrestaShopClient:
    session = requests.Session()
    session.mount(BASE + "/", SandboxAdapter(shop))
    client = PrestaShopClient(BASE, KEY, session=session)
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
