"""The sandbox PrestaShop without a socket: a `requests` adapter hands each call to the sandbox's Webservice
(its fault injection included), so tests and tools can drive a `PrestaShopClient` against it in process."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from .server import SandboxPrestaShop


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


def in_process_session(shop: SandboxPrestaShop, base_url: str) -> requests.Session:
    """A Session whose calls to `base_url` reach `shop` in process."""
    session = requests.Session()
    session.mount(base_url.rstrip("/") + "/", SandboxAdapter(shop))
    return session
