"""PrestaShop 8 Webservice client.

Every call passes through `PrestaShopClient._request()`: explicit timeouts, HTTP Basic auth (key, ""),
no redirects, logging (never the key), a thread-safe call counter, PrestaShop's XML error body mapped
onto `connectors.http` exceptions, and retries with backoff + jitter only for what can succeed later:

- GET/PUT/PATCH/DELETE (idempotent): connection errors, timeouts, 429 (Retry-After honoured) and 5xx.
- POST (creates something): only a connection error raised *before* the request was sent
  (connection refused, connect timeout, DNS). Once the shop may have seen it, a POST is never repeated —
  PrestaShop even saves a product before it rejects a bad association, so the caller looks up by
  reference before creating again.

Facts about the real shop this client respects are in `docs/prestashop.md`
(GET of a missing id: 404 with an empty body; image upload answers 200; filters are case/accent
insensitive and `%`/`_` are wildcards, so every lookup checks the exact value of what comes back).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, overload

import requests

from connectors.http import (
    Backoff,
    RemoteError,
    RemoteNotFound,
    RemoteRejected,
    RemoteUnavailable,
    build_session,
    parse_retry_after,
    request_never_sent,
)
from connectors.prestashop import xml as psxml
from connectors.prestashop.xml import Assoc, Lang

logger = logging.getLogger("connectors.prestashop")

SYSTEM = "prestashop"
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
MAX_RETRY_SLEEP = 60.0  # a Retry-After longer than this is handed to the caller instead of slept
# Characters that change the meaning of a `filter[x]=[…]` value (OR list, range, bracket parsing).
_FILTER_SPECIAL = set("[]|,")


@dataclass(frozen=True)
class Response:
    status: int
    content: bytes
    headers: dict[Any, Any]


def filter_value(value: str) -> str:
    """A `filter[field]=` value that matches `value` (and possibly more: always check results exactly).

    `[v]` is an equality filter, but `|` splits it into an OR list, `a,b` of digits is a range, and brackets
    break the shop's parsing. Those values are sent as a LIKE prefix with the special characters as `_`
    wildcards; the caller's exact comparison of the results does the rest.
    """
    if any(ch in _FILTER_SPECIAL for ch in value):
        return "[" + "".join("_" if ch in _FILTER_SPECIAL else ch for ch in value) + "]%"
    return f"[{value}]"


class PrestaShopClient:
    """One shop's Webservice. Thread-safe: share one instance between worker threads."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        session: requests.Session | None = None,
        max_retries: int = 3,
        backoff: Backoff | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + "/api/"
        self.timeout = (connect_timeout, timeout)
        self.max_retries = max_retries
        self.backoff = backoff or Backoff()
        self.session = session or build_session(system=SYSTEM)
        self._auth = (api_key, "")
        self._sleep = time.sleep  # patched in tests
        self._lock = threading.Lock()
        self._calls = 0
        self._local = threading.local()

    def __repr__(self) -> str:  # never shows the key
        return f"PrestaShopClient({self.base_url!r})"

    # ------------------------------------------------------------------ counting
    @property
    def calls(self) -> int:
        """Webservice calls made by this client (all threads), retries included."""
        with self._lock:
            return self._calls

    @contextmanager
    def counting(self) -> Iterator[list[int]]:
        """Count the calls the current thread makes inside the block: `with c.counting() as n: …; n[0]`."""
        stack = getattr(self._local, "counters", None)
        if stack is None:
            stack = self._local.counters = []
        counter = [0]
        stack.append(counter)
        try:
            yield counter
        finally:
            for index, item in enumerate(stack):
                if item is counter:  # identity: two counters may hold equal values
                    del stack[index]
                    break

    def _count(self) -> None:
        with self._lock:
            self._calls += 1
        for counter in getattr(self._local, "counters", ()):
            counter[0] += 1

    # ------------------------------------------------------------------ the one request
    @overload
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[Any, Any] | None = ...,
        data: bytes | None = ...,
        files: dict[Any, Any] | None = ...,
        not_found_ok: Literal[False] = ...,
    ) -> Response: ...

    @overload
    def _request(self, method: str, path: str, *, not_found_ok: bool) -> Response | None: ...

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[Any, Any] | None = None,
        data: bytes | None = None,
        files: dict[Any, Any] | None = None,
        not_found_ok: bool = False,
    ) -> Response | None:
        """Send one Webservice call (with the retries it is allowed). See the module docstring.

        Returns the response for 2xx; `None` for a 404 when `not_found_ok`; raises otherwise.
        """
        url = self.api_url + path.lstrip("/")
        headers = {}
        if data is not None:
            headers["Content-Type"] = "text/xml; charset=utf-8"
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            self._count()
            try:
                resp = self.session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    files=files,
                    headers=headers,
                    auth=self._auth,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                elapsed = time.monotonic() - started
                safe = method in IDEMPOTENT or (
                    isinstance(exc, requests.exceptions.ConnectionError) and request_never_sent(exc)
                )
                logger.warning(
                    "prestashop %s %s failed after %.3fs (attempt %d): %s",
                    method,
                    path,
                    elapsed,
                    attempt,
                    type(exc).__name__,
                )
                error: RemoteError = RemoteUnavailable(
                    f"PrestaShop unreachable: {type(exc).__name__}: {exc}",
                    system=SYSTEM,
                    method=method,
                    url=url,
                )
                if safe and attempt <= self.max_retries:
                    self._sleep(self.backoff.delay(attempt))
                    continue
                raise error

            elapsed = time.monotonic() - started
            status = resp.status_code
            logger.info("prestashop %s %s -> %s in %.3fs (attempt %d)", method, path, status, elapsed, attempt)
            if 200 <= status < 300:
                return Response(status, resp.content, dict(resp.headers))
            if status == 404 and not_found_ok:
                return None

            error = self._error(resp, method, url)
            retryable_status = status == 429 or status >= 500
            if retryable_status and method in IDEMPOTENT and attempt <= self.max_retries:
                delay = self.backoff.delay(attempt)
                if error.retry_after is not None:
                    if error.retry_after > MAX_RETRY_SLEEP:
                        raise error
                    delay = max(delay, error.retry_after)
                self._sleep(delay)
                continue
            raise error

    @staticmethod
    def _error(resp: requests.Response, method: str, url: str) -> RemoteError:
        status = resp.status_code
        body = resp.content or b""
        errors = psxml.read_errors(body)
        if errors:
            text = "; ".join(f"[{code}] {msg}" if code is not None else msg for code, msg in errors)
        elif 300 <= status < 400:
            text = f"redirected to {resp.headers.get('Location', '?')} (check the shop URL)"
        else:
            text = body.decode("utf-8", "replace").strip()[:200] or (resp.reason or "")
        kwargs: dict[str, Any] = dict(
            system=SYSTEM,
            status=status,
            body=body.decode("utf-8", "replace"),
            method=method,
            url=url,
            request_id=resp.headers.get("X-Request-Id"),
            retry_after=parse_retry_after(resp.headers.get("Retry-After")),
            details=[{"code": code, "message": msg} for code, msg in errors],
        )
        message = f"PrestaShop {status}: {text}".rstrip(": ")
        if status == 404:
            return RemoteNotFound(message, **kwargs)
        if status == 429 or status >= 500:
            return RemoteUnavailable(message, **kwargs)
        return RemoteRejected(message, **kwargs)

    # ------------------------------------------------------------------ generic helpers
    def get_resource(self, resource: str, item: str, id_: int) -> dict[Any, Any]:
        resp = self._request("GET", f"{resource}/{int(id_)}")
        return psxml.read_resource(resp.content, item)

    def list_resource(self, resource: str, params: dict[Any, Any] | None = None) -> list[dict[Any, Any]]:
        resp = self._request("GET", resource, params=params or {})
        return psxml.read_list(resp.content, resource)

    def create_resource(self, resource: str, item: str, fields: dict[Any, Any]) -> dict[Any, Any]:
        resp = self._request("POST", resource, data=psxml.build(item, fields))
        return psxml.read_resource(resp.content, item)

    def patch_resource(self, resource: str, item: str, id_: int, fields: dict[Any, Any]) -> dict[Any, Any]:
        body = psxml.build(item, {"id": int(id_), **fields})
        resp = self._request("PATCH", f"{resource}/{int(id_)}", data=body)
        return psxml.read_resource(resp.content, item) if resp.content.strip() else {}

    def put_resource(self, resource: str, item: str, id_: int, fields: dict[Any, Any]) -> dict[Any, Any]:
        """Full replace: `fields` must hold every field (the shop resets the ones left out)."""
        body = psxml.build(item, {"id": int(id_), **fields})
        resp = self._request("PUT", f"{resource}/{int(id_)}", data=body)
        return psxml.read_resource(resp.content, item) if resp.content.strip() else {}

    def delete_resource(self, resource: str, id_: int) -> bool:
        """True if deleted, False if it was not there (404)."""
        return self._request("DELETE", f"{resource}/{int(id_)}", not_found_ok=True) is not None

    # ------------------------------------------------------------------ languages, categories
    def languages(self) -> list[int]:
        """Ids of every shop language, read now (cached for every process by `facts.ShopFacts`)."""
        rows = self.list_resource("languages")
        return sorted(int(r["id"]) for r in rows if r.get("id"))

    def category_ids(self) -> set[int]:
        """Every category id of the shop, read now (cached for every process by `facts.ShopFacts`)."""
        rows = self.list_resource("categories", {"display": "[id]"})
        return {int(r["id"]) for r in rows if r.get("id")}

    # ------------------------------------------------------------------ products
    def find_products_by_reference(self, reference: str) -> list[int]:
        """Ids of products whose reference is EXACTLY `reference` (the shop's filter is looser)."""
        rows = self.list_resource(
            "products",
            {"filter[reference]": filter_value(reference), "display": "[id,reference]"},
        )
        return sorted(int(r["id"]) for r in rows if r.get("reference") == reference)

    def get_product(self, product_id: int) -> dict[Any, Any]:
        return self.get_resource("products", "product", product_id)

    def create_product(self, fields: dict[Any, Any]) -> dict[Any, Any]:
        return self.create_resource("products", "product", fields)

    def patch_product(self, product_id: int, fields: dict[Any, Any]) -> dict[Any, Any]:
        """Partial update: only the given fields (and given associations, each replaced whole) change."""
        return self.patch_resource("products", "product", product_id, fields)

    def delete_product(self, product_id: int) -> bool:
        return self.delete_resource("products", product_id)

    # ------------------------------------------------------------------ stock
    def stock_availables(self, product_id: int) -> list[dict[Any, Any]]:
        return self.list_resource("stock_availables", {"filter[id_product]": f"[{int(product_id)}]", "display": "full"})

    def product_stock(self, product_id: int) -> dict[Any, Any]:
        """The product's own stock row (`id_product_attribute` 0)."""
        rows = self.stock_availables(product_id)
        for row in rows:
            if str(row.get("id_product_attribute", "0")) in ("0", ""):
                return row
        raise RemoteNotFound(f"PrestaShop: no stock_available row for product {product_id}", system=SYSTEM, status=404)

    def set_stock(self, row: dict[Any, Any], quantity: int) -> dict[Any, Any]:
        """Write `quantity` to a stock row with a full PUT (id_shop, id_product_attribute… all sent).

        `depends_on_stock` is sent as 0: the ERP is the stock master, and the shop refuses a manual
        quantity on a row that depends on advanced stock management.
        """
        fields = {
            "id_product": int(row["id_product"]),
            "id_product_attribute": int(row.get("id_product_attribute") or 0),
            "id_shop": int(row.get("id_shop") or 0),
            "id_shop_group": int(row.get("id_shop_group") or 0),
            "quantity": int(quantity),
            "depends_on_stock": 0,
            "out_of_stock": int(row.get("out_of_stock") or 0),
            "location": row.get("location") or "",
        }
        return self.put_resource("stock_availables", "stock_available", int(row["id"]), fields)

    # ------------------------------------------------------------------ manufacturers
    def find_manufacturer(self, name: str) -> int | None:
        """Id of the manufacturer named `name` (compared case-insensitively, whitespace-trimmed)."""
        rows = self.list_resource("manufacturers", {"filter[name]": filter_value(name), "display": "[id,name]"})
        wanted = name.strip().casefold()
        ids = sorted(int(r["id"]) for r in rows if str(r.get("name", "")).strip().casefold() == wanted)
        return ids[0] if ids else None

    def find_manufacturers(self, names: list[str]) -> dict[str, int]:
        """Ids of many manufacturers in one call: casefolded, trimmed name → id (lowest id wins).

        Names the shop's OR-filter syntax cannot carry are looked up one by one."""
        found: dict[str, int] = {}
        plain = [n for n in dict.fromkeys(names) if n and not any(ch in _FILTER_SPECIAL for ch in n)]
        for name in names:
            if name and name not in plain:
                mid = self.find_manufacturer(name)
                if mid is not None:
                    found.setdefault(name.strip().casefold(), mid)
        if plain:
            rows = self.list_resource(
                "manufacturers", {"filter[name]": "[" + "|".join(plain) + "]", "display": "[id,name]"}
            )
            wanted = {n.strip().casefold() for n in plain}
            for row in sorted(rows, key=lambda r: int(r["id"])):
                key = str(row.get("name", "")).strip().casefold()
                if key in wanted:
                    found.setdefault(key, int(row["id"]))
        return found

    def create_manufacturer(self, name: str, *, active: bool = True) -> int:
        row = self.create_resource("manufacturers", "manufacturer", {"active": active, "name": name})
        return int(row["id"])

    # ------------------------------------------------------------------ features
    def find_feature(self, name: str) -> int | None:
        """Id of the feature named `name` in any language (case-insensitive)."""
        rows = self.list_resource("product_features", {"filter[name]": filter_value(name), "display": "full"})
        wanted = name.strip().casefold()
        for row in sorted(rows, key=lambda r: int(r["id"])):
            names = row.get("name")
            values = names.values() if isinstance(names, dict) else [names or ""]
            if any(str(v).strip().casefold() == wanted for v in values):
                return int(row["id"])
        return None

    def all_features(self) -> dict[str, int]:
        """Every feature of the shop in one call: casefolded name (any language) → id (lowest id wins)."""
        rows = self.list_resource("product_features", {"display": "[id,name]"})
        found: dict[str, int] = {}
        for row in sorted(rows, key=lambda r: int(r["id"])):
            names = row.get("name")
            for text in names.values() if isinstance(names, dict) else [names or ""]:
                found.setdefault(str(text).strip().casefold(), int(row["id"]))
        return found

    def find_feature_values(self, pairs: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """Ids of many predefined values at once (one call): (id_feature, value) → id, exact match.

        Values the shop's filter syntax cannot list in an OR filter are looked up one by one."""
        found: dict[tuple[int, str], int] = {}
        plain = [(fid, v) for fid, v in pairs if not any(ch in _FILTER_SPECIAL for ch in v)]
        for fid, value in pairs:
            if (fid, value) not in plain:
                vid = self.find_feature_value(fid, value)
                if vid is not None:
                    found[(fid, value)] = vid
        if plain:
            feature_ids = sorted({fid for fid, _ in plain})
            values = sorted({v for _, v in plain})
            rows = self.list_resource(
                "product_feature_values",
                {
                    "filter[id_feature]": "[" + "|".join(str(f) for f in feature_ids) + "]",
                    "filter[value]": "[" + "|".join(values) + "]",
                    "display": "full",
                },
            )
            wanted = set(plain)
            for row in sorted(rows, key=lambda r: int(r["id"])):
                if str(row.get("custom", "0")) == "1":
                    continue
                fid = int(row.get("id_feature") or 0)
                texts = row.get("value")
                for text in texts.values() if isinstance(texts, dict) else [texts or ""]:
                    key = (fid, str(text).strip())
                    if key in wanted:
                        found.setdefault(key, int(row["id"]))
        return found

    def create_feature(self, name: str, languages: list[int]) -> int:
        row = self.create_resource("product_features", "product_feature", {"name": Lang({i: name for i in languages})})
        return int(row["id"])

    def find_feature_value(self, feature_id: int, value: str) -> int | None:
        """Id of the predefined (non-custom) value `value` of a feature (exact, case-sensitive)."""
        rows = self.list_resource(
            "product_feature_values",
            {"filter[id_feature]": f"[{int(feature_id)}]", "filter[value]": filter_value(value), "display": "full"},
        )
        for row in sorted(rows, key=lambda r: int(r["id"])):
            if str(row.get("custom", "0")) == "1" or str(row.get("id_feature")) != str(int(feature_id)):
                continue
            values = row.get("value")
            texts = values.values() if isinstance(values, dict) else [values or ""]
            if any(str(v).strip() == value.strip() for v in texts):
                return int(row["id"])
        return None

    def create_feature_value(self, feature_id: int, value: str, languages: list[int]) -> int:
        row = self.create_resource(
            "product_feature_values",
            "product_feature_value",
            {"id_feature": int(feature_id), "custom": False, "value": Lang({i: value for i in languages})},
        )
        return int(row["id"])

    # ------------------------------------------------------------------ images
    def upload_image(self, product_id: int, content: bytes, file_name: str, content_type: str) -> dict[Any, Any]:
        """POST one product image (multipart field `image`; the shop answers 200). Returns the new image row."""
        resp = self._request(
            "POST",
            f"images/products/{int(product_id)}",
            files={"image": (file_name, content, content_type)},
        )
        try:
            row = psxml.read_resource(resp.content, "image")
        except ValueError:
            raise RemoteUnavailable(
                "PrestaShop answered an image upload without an image id",
                system=SYSTEM,
                status=resp.status,
                body=resp.content[:500].decode("utf-8", "replace"),
            )
        row.pop("content", None)  # the shop echoes the stored image base64-encoded: not needed
        return row

    def product_images(self, product_id: int) -> list[int]:
        """Image ids of a product in the shop's order ([] when it has none: the shop answers 404)."""
        resp = self._request("GET", f"images/products/{int(product_id)}", not_found_ok=True)
        if resp is None or not resp.content.strip():
            return []
        root = psxml.parse(resp.content)
        return [int(d.get("id")) for d in root.iter("declination") if d.get("id")]

    def delete_image(self, product_id: int, image_id: int) -> bool:
        """True if deleted, False if it was not there (the shop answers 400 code 57 for an unknown image id)."""
        try:
            resp = self._request("DELETE", f"images/products/{int(product_id)}/{int(image_id)}", not_found_ok=True)
        except RemoteRejected as exc:
            if any(d.get("code") == 57 for d in exc.details):
                return False
            raise
        return resp is not None


__all__ = ["Assoc", "Lang", "PrestaShopClient", "Response", "filter_value"]
