"""Clients for Productsup's Platform API (`X-Auth-Token`) and Stream API (Bearer token).

Every call passes through one `_request()`: timeout, auth, logging, retries and the mapping of
answers onto typed exceptions live there and nowhere else.

Retry policy (what can succeed later, and only when a retry cannot duplicate data):
- 423 (batch locked by another upload/commit) and 429 (rate limited): the request was refused, so it
  is always safe to send again. Waited out (Retry-After / ratelimit-reset, else backoff) within a
  waiting budget (`max_wait` seconds); a wait longer than the budget raises at once.
- 5xx and timeouts: retried with exponential backoff for idempotent calls. A batch upload is not
  idempotent (the rows could land twice in one batch), so there only 503 and connect failures (the
  request never reached the application) are retried; anything else raises and the exporter discards
  the batch and sends it again as a whole under a new batch id.
- other 4xx: raised at once with the remote's message.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

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
from connectors.productsup.rows import encode_json_array, encode_ndjson

logger = logging.getLogger(__name__)

SYSTEM = "productsup"
MAX_ROWS_PER_UPLOAD = 10_000  # Platform API: products per upload request
BATCH_ID_LENGTH = 32
STREAM_MAX_REQUEST_BYTES = 200 * 1024 * 1024  # Stream API: payload per request
STREAM_MAX_PRODUCT_BYTES = 1024 * 1024  # Stream API: one product
STREAM_REQUESTS_PER_SECOND = 30  # Stream API: /streams/{id}/products, per stream
PRODUCT_READ_PER_MINUTE = 60  # Platform API product read

_BATCH_ID = re.compile(r"^[A-Za-z0-9]{32}$")


# --- errors ------------------------------------------------------------------------------------
class ProductsupError(RemoteError):
    """Base of the Productsup errors (keeps `RemoteError`'s fields: status, body, url, retry_after…)."""


class ProductsupAuthError(ProductsupError, RemoteRejected):
    """401/403: the credentials are wrong or do not reach this site / stream."""


class ProductsupBadRequest(ProductsupError, RemoteRejected):
    """400/405/406/413/422 and other 4xx: the request itself was refused."""


class ProductsupNotFound(ProductsupError, RemoteNotFound):
    """404: unknown site, batch, stream or process."""


class ProductsupBatchLocked(ProductsupError, RemoteUnavailable):
    """423 that outlasted the waiting budget: another upload/commit on this batch is still running."""


class ProductsupRateLimited(ProductsupError, RemoteUnavailable):
    """429 that outlasted the waiting budget (or asks for a wait longer than it)."""


class ProductsupServerError(ProductsupError, RemoteUnavailable):
    """5xx, timeout or connection failure after the retries this call allows."""


# --- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class UploadReceipt:
    rows: int
    bytes: int
    answer: dict[Any, Any]
    remote_batch_id: str = ""  # Stream API: the batch id the stream assigned to this request
    status: str = ""  # Stream API: batch status (uploaded / failed)
    error_count: int = 0  # Stream API: invalid products in a partial (202) upload
    errors: list[Any] = field(default_factory=list[Any])


def new_batch_id() -> str:
    """A fresh 32-character batch id (hex of a random UUID, as the docs' md5 suggestion)."""
    import uuid

    return uuid.uuid4().hex


class _Pacer:
    """Client-side pacing: at most `per_second` calls per second (process-local, one export at a time)."""

    def __init__(self, per_second: float, sleep: Callable[[float], None]) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self.sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            if self._next > now:
                self.sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


class _Client:
    """What both APIs share: the session, and the one `_request()`."""

    def __init__(
        self,
        *,
        timeout: float | tuple[float, float] = 60.0,
        connect_timeout: float = 5.0,
        max_attempts: int = 4,
        max_wait: float = 120.0,
        backoff: Backoff | None = None,
        lock_backoff: Backoff | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = timeout if isinstance(timeout, tuple) else (connect_timeout, float(timeout))
        self.max_attempts = max(1, max_attempts)
        self.max_wait = max_wait
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self.lock_backoff = lock_backoff or Backoff(base=0.5, cap=10.0)
        self.sleep = sleep
        self.session = session or build_session(pool_size=4, system=SYSTEM)
        self.calls = 0  # HTTP requests sent, retries included

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # subclasses
    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _error_message(self, payload: object, fallback: str) -> str:
        if isinstance(payload, dict):
            if payload.get("message"):
                return str(payload["message"])
            errors = payload.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                first = errors[0]
                return str(first.get("detail") or first.get("title") or fallback)
        return fallback

    def _wait_hint(self, response: requests.Response) -> float | None:
        hint = parse_retry_after(response.headers.get("Retry-After"))
        if hint is None and response.headers.get("ratelimit-reset"):
            try:
                hint = max(0.0, float(response.headers["ratelimit-reset"]) - time.time())
            except ValueError:
                hint = None
        return hint

    def _request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        params: dict[Any, Any] | None = None,
        idempotent: bool = True,
        pacer: _Pacer | None = None,
        ok: Sequence[int] = (200, 201, 202, 204),
    ) -> tuple[int, dict[Any, Any]]:
        headers = dict(self._headers())
        if body is not None:
            headers["Content-Type"] = content_type
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            if pacer is not None:
                pacer.wait()
            started = time.monotonic()
            self.calls += 1
            try:
                response = self.session.request(
                    method,
                    url,
                    data=body,
                    params=params,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except (requests.ConnectTimeout, requests.ConnectionError, requests.Timeout) as exc:
                # A connect failure never reached the application: safe to resend even an upload.
                retryable = idempotent or request_never_sent(exc)
                logger.warning("productsup %s %s failed (attempt %d): %s", method, url, attempt, exc)
                if retryable and attempt < self.max_attempts:
                    self.sleep(self.backoff.delay(attempt))
                    continue
                raise ProductsupServerError(
                    f"Productsup unreachable: {exc.__class__.__name__}: {exc}",
                    system=SYSTEM,
                    method=method,
                    url=url,
                ) from exc

            status = response.status_code
            elapsed_ms = int((time.monotonic() - started) * 1000)
            logger.debug("productsup %s %s → %s in %d ms", method, url, status, elapsed_ms)
            payload = self._json(response)
            if status in ok:
                return status, payload if isinstance(payload, dict) else {"data": payload}

            message = self._error_message(payload, f"HTTP {status}")
            common: dict[str, Any] = {
                "system": SYSTEM,
                "status": status,
                "body": response.text,
                "method": method,
                "url": url,
                "request_id": response.headers.get("X-Request-Id"),
            }
            if status in (423, 429):
                hint = self._wait_hint(response)
                delay = (
                    hint if hint is not None else (self.lock_backoff if status == 423 else self.backoff).delay(attempt)
                )
                if waited + delay <= self.max_wait:
                    logger.info("productsup %s %s → %s, waiting %.2fs", method, url, status, delay)
                    self.sleep(delay)
                    waited += delay
                    continue
                cls = ProductsupBatchLocked if status == 423 else ProductsupRateLimited
                raise cls(f"Productsup {status}: {message}", retry_after=hint, **common)
            if status >= 500:
                if (idempotent or status == 503) and attempt < self.max_attempts:
                    self.sleep(self.backoff.delay(attempt))
                    continue
                raise ProductsupServerError(f"Productsup {status}: {message}", **common)
            if status in (401, 403):
                raise ProductsupAuthError(f"Productsup {status}: {message}", **common)
            if status == 404:
                raise ProductsupNotFound(f"Productsup 404: {message}", **common)
            if 300 <= status < 400:
                raise ProductsupBadRequest(f"Productsup answered a redirect ({status}); check the API URL", **common)
            raise ProductsupBadRequest(f"Productsup {status}: {message}", **common)

    @staticmethod
    def _json(response: requests.Response) -> object:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            return {"message": response.text[:500]}


class PlatformClient(_Client):
    """The Platform API: site lookup, batch upload/commit/discard, process trigger and status, errors,
    import history and (rate-limited) product read.

    `site` is a site id ("123") or a site tag ("tagName:tagValue"), as PRODUCTSUP_SITE.
    """

    def __init__(
        self,
        *,
        api_url: str,
        client_id: str,
        client_secret: str,
        site: str,
        product_api_url: str | None = None,
        max_rows_per_upload: int = MAX_ROWS_PER_UPLOAD,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        host = platform_host(api_url)
        self.api_url = f"{host}/platform/v2"
        self.product_api_url = (product_api_url or f"{host}/product/v2").rstrip("/")
        self.client_id = str(client_id)
        self.client_secret = str(client_secret)
        self.site = str(site).strip()
        if not self.site:
            raise ValueError("PRODUCTSUP_SITE is empty: set a site id or tagName:tagValue")
        self.max_rows_per_upload = min(max(1, max_rows_per_upload), MAX_ROWS_PER_UPLOAD)
        self._site_id: int | None = int(self.site) if self.site.isdigit() else None
        self._read_pacer = _Pacer(PRODUCT_READ_PER_MINUTE / 60.0, self.sleep)

    def _headers(self) -> dict[str, str]:
        return {"X-Auth-Token": f"{self.client_id}:{self.client_secret}", "Accept": "application/json"}

    def _url(self, path: str) -> str:
        return f"{self.api_url}/{path.lstrip('/')}"

    # --- sites ---------------------------------------------------------------------------------
    def get_site(self) -> dict[Any, Any]:
        """The configured site (by id or by tag). Raises ProductsupNotFound when there is none."""
        _, payload = self._request("GET", self._url(f"sites/{self.site}"))
        sites = payload.get("Sites") or []
        if not sites:
            raise ProductsupNotFound(f"Productsup site {self.site!r} not found", system=SYSTEM, status=404)
        site: dict[Any, Any] = sites[0]
        return site

    def site_id(self) -> int:
        """The numeric site id (looked up once when the site is given by tag)."""
        if self._site_id is None:
            self._site_id = int(self.get_site()["id"])
        return self._site_id

    # --- batches -------------------------------------------------------------------------------
    def _batch_url(self, batch_id: str, action: str) -> str:
        if not _BATCH_ID.match(batch_id or ""):
            raise ValueError(f"a batch id is exactly {BATCH_ID_LENGTH} letters/digits, got {batch_id!r}")
        return self._url(f"sites/{self.site}/products/{batch_id}/{action}")

    def upload(self, batch_id: str, rows: Sequence[dict[Any, Any]]) -> UploadReceipt:
        """One upload request (≤ 10,000 rows) into the batch. Not retried on ambiguous failures."""
        if not rows:
            raise ValueError("an upload needs at least one row")
        if len(rows) > self.max_rows_per_upload:
            raise ValueError(f"{len(rows)} rows in one upload; the limit is {self.max_rows_per_upload}")
        body = encode_json_array(rows)
        _, payload = self._request("POST", self._batch_url(batch_id, "upload"), body=body, idempotent=False)
        return UploadReceipt(rows=len(rows), bytes=len(body), answer=payload)

    def upload_body(self, batch_id: str, body: bytes, rows: int) -> UploadReceipt:
        """Like `upload()`, for a body the caller encoded already (a JSON array of `rows` rows)."""
        if rows > self.max_rows_per_upload:
            raise ValueError(f"{rows} rows in one upload; the limit is {self.max_rows_per_upload}")
        _, payload = self._request("POST", self._batch_url(batch_id, "upload"), body=body, idempotent=False)
        return UploadReceipt(rows=rows, bytes=len(body), answer=payload)

    def commit(self, batch_id: str, *, kind: str, automatic_import: bool = True) -> dict[Any, Any]:
        """Commit the batch: `full` replaces the site's data, `delta` updates it."""
        if kind not in ("full", "delta"):
            raise ValueError("commit type is 'full' or 'delta'")
        body = _json_bytes({"type": kind, "automatic_import": bool(automatic_import)})
        _, payload = self._request("POST", self._batch_url(batch_id, "commit"), body=body)
        return payload

    def discard(self, batch_id: str) -> dict[Any, Any]:
        """Cancel the whole batch (nothing of it is imported)."""
        _, payload = self._request("POST", self._batch_url(batch_id, "discard"), body=b"{}")
        return payload

    # --- processes -----------------------------------------------------------------------------
    def trigger_process(
        self, action: str = "import", *, batch_id: str | None = None, action_id: int | None = None
    ) -> str:
        """Trigger a process on the site (1 per site per 5 minutes); returns the process id (pid)."""
        body: dict[Any, Any] = {"action": action}
        if action_id is not None:
            body["id"] = action_id
        if batch_id:
            body["batch_id"] = batch_id
        # A trigger creates a process: no blind resend after an ambiguous failure.
        _, payload = self._request(
            "POST", self._url(f"process/{self.site_id()}"), body=_json_bytes(body), idempotent=False
        )
        if not payload.get("success", True) or not payload.get("process_id"):
            raise ProductsupBadRequest(
                f"Productsup did not start a process: {payload.get('message') or payload}", system=SYSTEM
            )
        return str(payload["process_id"])

    def process_status(self, pid: str) -> str:
        """queued / running / success / failed."""
        _, payload = self._request("GET", self._url(f"sites/{self.site_id()}/status/{pid}"))
        return str(payload.get("status", ""))

    def site_errors(self, *, pid: str | None = None, limit: int = 50, offset: int = 0) -> list[dict[Any, Any]]:
        params: dict[Any, Any] = {"limit": limit, "offset": offset}
        if pid:
            params["pid"] = pid
        _, payload = self._request("GET", self._url(f"sites/{self.site_id()}/errors"), params=params)
        return list(payload.get("Errors") or [])

    def import_history(self) -> list[dict[Any, Any]]:
        _, payload = self._request("GET", self._url(f"sites/{self.site_id()}/importhistory"))
        return list(payload.get("Importhistory") or payload.get("Sites") or [])

    # --- product read (60 requests a minute) ---------------------------------------------------
    def read_products(
        self,
        *,
        stage: str = "intermediate",
        stage_id: int = 0,
        limit: int = 5000,
        offset: int = 0,
        fields: Sequence[str] | None = None,
        filter: str | None = None,
        hidden: bool = False,
    ) -> list[dict[Any, Any]]:
        params: dict[Any, Any] = {"limit": limit, "offset": offset, "hidden": int(hidden)}
        if filter:
            params["filter"] = filter
        for i, name in enumerate(fields or ()):
            params[f"fields[{i}]"] = name
        url = f"{self.product_api_url}/site/{self.site_id()}/stage/{stage}/{stage_id}/"
        _, payload = self._request("GET", url, params=params, pacer=self._read_pacer)
        return list(payload.get("products") or [])


class StreamClient(_Client):
    """The Stream API: NDJSON product upload, delete by id, batch status. 30 requests/s per stream."""

    def __init__(self, *, api_url: str, stream_id: str, token: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_url = api_url.rstrip("/")
        self.stream_id = str(stream_id)
        self.token = token
        if not self.stream_id or not self.token:
            raise ValueError("the stream transport needs PRODUCTSUP_STREAM_ID and PRODUCTSUP_STREAM_TOKEN")
        # A little under the limit: the server's one-second window and ours never line up exactly.
        self._pacer = _Pacer(STREAM_REQUESTS_PER_SECOND * 0.9, self.sleep)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.api+json"}

    def _products_url(self) -> str:
        return f"{self.api_url}/streams/{self.stream_id}/products"

    def upload(self, rows: Sequence[dict[Any, Any]]) -> UploadReceipt:
        """Upload rows as NDJSON. 200: all accepted; 202: partial (the answer carries error samples)."""
        if not rows:
            raise ValueError("an upload needs at least one row")
        return self.upload_body(encode_ndjson(rows), len(rows))

    def upload_body(self, body: bytes, rows: int) -> UploadReceipt:
        """Like `upload()`, for an NDJSON body the caller encoded already (`rows` lines)."""
        if len(body) > STREAM_MAX_REQUEST_BYTES:
            raise ValueError(f"{len(body)} bytes in one request; the Stream API takes at most 200 MB")
        # Stream uploads are upserts by id: sending the same rows again converges, so retrying is safe.
        _, payload = self._request(
            "POST", self._products_url(), body=body, content_type="application/x-ndjson", pacer=self._pacer
        )
        data = payload.get("data") or {}
        attributes = data.get("attributes") or {}
        upload_stage = (attributes.get("stages") or {}).get("upload") or {}
        return UploadReceipt(
            rows=rows,
            bytes=len(body),
            answer=payload,
            remote_batch_id=str(data.get("id") or ""),
            status=str(attributes.get("status") or ""),
            error_count=int(upload_stage.get("errorCount") or 0),
            errors=list(upload_stage.get("errors") or []),
        )

    def delete(self, ids: Sequence[str]) -> UploadReceipt:
        """Delete these product ids from the stream (never the delete-all `?all=true`)."""
        if not ids:
            raise ValueError("a delete needs at least one id")
        body = encode_ndjson({"id": i} for i in ids)
        _, payload = self._request(
            "DELETE", self._products_url(), body=body, content_type="application/x-ndjson", pacer=self._pacer
        )
        data = payload.get("data") or {}
        return UploadReceipt(rows=len(ids), bytes=len(body), answer=payload, remote_batch_id=str(data.get("id") or ""))

    def batch_status(self, batch_id: str) -> dict[Any, Any]:
        _, payload = self._request("GET", f"{self.api_url}/streams/{self.stream_id}/batches/{batch_id}")
        return payload.get("data") or {}


def _json_bytes(value: object) -> bytes:
    import json

    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def platform_host(api_url: str) -> str:
    """PRODUCTSUP_API_URL is the host, as Productsup documents it (docs/operations.md, Configuration); the client adds `/platform/v2/...`
    and `/product/v2/...` itself. A URL that already ends in `/platform/v2` (or `/platform`) is accepted too."""
    base = api_url.strip().rstrip("/")
    for suffix in ("/platform/v2", "/platform"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base
