"""The lifecycle both sandboxes share: a threaded HTTP server on a daemon thread, started and stopped from
tests (`with Sandbox(port=0) as s:`), and the foreground loop of `python -m sandboxes.<name>`.

A sandbox subclasses `SandboxServer` and names its request handler (a `SandboxHandler` subclass); the handler
reaches the sandbox object as `self.server.sandbox`. This module must not import Django.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: Any


class SandboxHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no request log on stderr."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this keep-alive clients wait ~40 ms
    server: _ThreadingServer

    def log_message(self, format: str, *args: Any) -> None:
        return


class SandboxServer:
    """Start/stop of one sandbox on a real socket; `port=0` picks a free port (read `.port` after start)."""

    handler_class: ClassVar[type[SandboxHandler]]
    thread_name: ClassVar[str] = "sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._server: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._server = _ThreadingServer((self.host, self.port), self.handler_class)
        self._server.sandbox = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.on_stop()

    def on_stop(self) -> None:
        """Hook run after the socket is closed (e.g. save state)."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_until_signalled(
        self, banner: str, *, every: float = 3600, tick: Callable[[], None] | None = None
    ) -> None:
        """Foreground loop of `python -m sandboxes.<name>`: print `banner` once listening, run `tick` every
        `every` seconds, stop cleanly on SIGINT or SIGTERM."""
        self.start()
        print(banner.format(url=self.url), flush=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        try:
            while not stop.wait(every):
                if tick is not None:
                    tick()
        finally:
            self.stop()
