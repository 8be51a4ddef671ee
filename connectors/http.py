"""One way to build an HTTP session for a remote system, and the typed errors every connector raises.

Every connector builds its `requests.Session` here and maps remote failures onto these exceptions,
so callers (services, tasks) decide what to retry from the exception type alone:

- `RemoteUnavailable`: may succeed later (timeout, connection error, 429, 5xx). Retry with backoff.
- `RemoteRejected`: the remote refused the request itself (4xx). Retrying the same call cannot help.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)

# (connect, read) seconds. Every outbound call passes an explicit timeout (ruff S113 guards raw calls).
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
MAX_ERROR_BODY = 2000


class RemoteError(Exception):
    """A remote system failed or refused a call. `retryable` says whether trying later can help."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        status: int | None = None,
        body: str = "",
        method: str = "",
        url: str = "",
        request_id: str | None = None,
        retry_after: float | None = None,
        details: list[dict[Any, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.status = status
        self.body = (body or "")[:MAX_ERROR_BODY]
        self.method = method
        self.url = url
        self.request_id = request_id
        self.retry_after = retry_after
        self.details = details or []

    def as_dict(self) -> dict[Any, Any]:
        """A JSON-able summary for sync attempts and the admin (never carries credentials)."""
        return {
            "system": self.system,
            "message": self.message,
            "status": self.status,
            "method": self.method,
            "url": self.url,
            "body": self.body,
            "retryable": self.retryable,
            "retry_after": self.retry_after,
        }


class RemoteUnavailable(RemoteError):
    """Timeout, connection failure, 429 or 5xx: the same call may succeed later."""

    retryable = True


class RemoteRejected(RemoteError):
    """A 4xx answer: the remote refused this request; retrying it unchanged cannot succeed."""

    retryable = False


class RemoteNotFound(RemoteRejected):
    """404: the addressed resource does not exist."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter and a cap (AWS architecture blog's "full jitter")."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * (2 ** max(attempt - 1, 0))))


RequestObserver = Callable[[str, str], None]
_observers: list[RequestObserver] = []


def observe_requests(observer: RequestObserver) -> None:
    """Call `observer(system, outcome)` after every HTTP request a session of `build_session(system=…)`
    sends; `outcome` is `2xx`, `4xx`, `5xx` or `error` (no answer, or a redirect). The service counts
    them for its metrics; connectors know nothing of who listens."""
    if observer not in _observers:
        _observers.append(observer)


def request_outcome(status: int | None) -> str:
    if status is None:
        return "error"
    if 200 <= status < 300:
        return "2xx"
    if 400 <= status < 500:
        return "4xx"
    if status >= 500:
        return "5xx"
    return "error"  # 1xx/3xx: the clients never follow redirects, so a redirected call failed


class ObservedAdapter(HTTPAdapter):
    """The transport adapter of every connector session: each request that goes out (retries included,
    since each is sent here) is reported to the observers, whatever the client does with the answer."""

    def __init__(self, system: str, **kwargs: Any) -> None:
        self.system = system
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            response = super().send(request, *args, **kwargs)
        except Exception:
            self._notify(None)
            raise
        self._notify(response.status_code)
        return response

    def _notify(self, status: int | None) -> None:
        outcome = request_outcome(status)
        for observer in _observers:
            try:
                observer(self.system, outcome)
            except Exception:  # counting a call must never fail the call (logged)
                logger.warning("request observer %r failed", observer, exc_info=True)


def build_session(
    *,
    auth: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
    pool_size: int = 16,
    system: str = "",
) -> requests.Session:
    """A keep-alive session with a connection pool sized for our bounded concurrency.

    Retries are not done by urllib3 here: each client's `_request()` decides what is safe to retry
    (a POST that created something must not be blindly repeated) and records every try.
    Redirects are not followed by the clients (`allow_redirects=False`): a redirected API call is an error.
    `system` names the remote for the request observers (metrics).
    """
    session = requests.Session()
    adapter = ObservedAdapter(system, pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if auth is not None:
        session.auth = auth
    session.headers.update({"User-Agent": "products-sync/1.0"})
    if headers:
        session.headers.update(headers)
    return session


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; HTTP dates are rare on APIs)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from datetime import datetime
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def request_never_sent(exc: Exception) -> bool:
    """True when a failed request certainly never reached the server (connect timeout, connection
    refused): only then is it safe to repeat a non-idempotent call such as a POST."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # MaxRetryError wraps the real cause
    return isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError)
