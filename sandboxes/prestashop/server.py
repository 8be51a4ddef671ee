"""The sandbox PrestaShop as a real HTTP server: `/api/` (the webservice), `/img/p/…` (public image files)
and `/` (a plain page listing the shop's products for people).

    shop = SandboxPrestaShop(port=0); shop.start(); shop.url  # "http://127.0.0.1:PORT"

Fault injection for tests and benchmarks: `fail_next(n, status, body)`, `down`, `latency_ms`.
This module must not import Django.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from sandboxes.server import SandboxHandler, SandboxServer

from .php import mysql_decimal, str2url
from .store import Store
from .webservice import Response, Webservice, parse_params

DEFAULT_API_KEY = "SANDBOXKEYSANDBOXKEYSANDBOXKEY32"
# A real PrestaShop 8.2 on Debian's default PHP: "[72] The image size is too large (maximum allowed is 2000 KB)"
# (the lowest of upload_max_filesize, post_max_size and PS_LIMIT_UPLOAD_IMAGE_VALUE, shown as bytes / 1000).
DEFAULT_IMAGE_MAX_BYTES = 2_000_000


class _Handler(SandboxHandler):
    server_version = "Apache"
    sys_version = ""

    def _body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _send(self, response: Response, head: bool = False) -> None:
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and not head:
            self.wfile.write(response.body)

    def _handle(self) -> None:
        body = self._body()
        shop: SandboxPrestaShop = self.server.sandbox
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        try:
            if path == "/api" or path.startswith("/api/"):
                response = shop._api(self.command, path, parts.query, self.headers, body)
            elif path.startswith("/img/p/") and self.command in ("GET", "HEAD"):
                response = shop._public_image(path)
            elif path in ("/", "/index.php") and self.command in ("GET", "HEAD"):
                response = Response(200, shop.html_page().encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})
            else:
                response = Response(404, b"Not Found", {"Content-Type": "text/plain; charset=utf-8"})
        except Exception as exc:  # noqa: BLE001 - a sandbox bug must answer, not hang the client
            response = Response(500, f"sandbox error: {exc!r}".encode(), {"Content-Type": "text/plain"})
        self._send(response, head=self.command == "HEAD")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class SandboxPrestaShop(SandboxServer):
    """An in-process PrestaShop 8.2 webservice emulator on a real socket."""

    handler_class = _Handler
    thread_name = "sandbox-prestashop"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        latency_ms: float = 0,
        image_max_bytes: int = DEFAULT_IMAGE_MAX_BYTES,
        state_file: str | Path | None = None,
        initial_state: str | Path | None = None,
    ) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self.latency_ms = latency_ms
        self.image_max_bytes = image_max_bytes
        self.state_file = Path(state_file) if state_file else None
        self.store = Store()
        if self.state_file and self.state_file.exists():
            self.store.load_json(json.loads(self.state_file.read_text()))
        elif initial_state:  # loaded, never saved (benchmarks: a large catalogue)
            self.store.load_json(json.loads(Path(initial_state).read_text()))
        self.webservice = Webservice(self.store, api_key, image_max_bytes)
        self.calls: list[tuple[str, str]] = []
        self.down = False
        self._failures: list[tuple[int, str]] = []
        self._meta_lock = threading.Lock()
        self._save_lock = threading.Lock()

    # ---------------------------------------------------------------------------------------- lifecycle

    @property
    def ws_url(self) -> str:
        return f"{self.url}/api/"

    # ---------------------------------------------------------------------------------------- test controls

    def reset_calls(self) -> None:
        with self._meta_lock:
            self.calls.clear()

    def fail_next(self, count: int = 1, status: int = 503, body: str = "") -> None:
        """The next `count` /api/ calls answer `status` with `body` (retry tests)."""
        with self._meta_lock:
            self._failures.extend([(status, body)] * count)

    def delete_product_by_hand(self, pid: int) -> None:
        """A shop employee deletes the product in the back office (drift tests)."""
        with self.store.lock:
            self.store.delete_product(pid)
        self._save()

    def edit_product_by_hand(
        self,
        pid: int,
        *,
        name: str | None = None,
        price=None,
        reference: str | None = None,
        active: bool | None = None,
        quantity: int | None = None,
        lang: int | None = None,
    ) -> None:
        """A shop employee edits the product in the back office (drift tests). `name` goes to every language
        unless `lang` is given."""
        with self.store.lock:
            record = self.store.tables["products"][pid]
            if name is not None:
                for lid in [lang] if lang else list(record["name"]):
                    record["name"][lid] = name
                    record["link_rewrite"][lid] = str2url(name)
            if price is not None:
                record["price"] = mysql_decimal(str(price))
            if reference is not None:
                record["reference"] = reference
            if active is not None:
                record["active"] = "1" if active else "0"
            if quantity is not None:
                for row in self.store.stock_rows(pid):
                    if row["id_product_attribute"] == "0":
                        row["quantity"] = str(quantity)
            record["date_upd"] = time.strftime("%Y-%m-%d %H:%M:%S")
        self._save()

    # store read helpers, also reachable as shop.store.<name>
    def product(self, pid: int) -> dict | None:
        return self.store.product(pid)

    def products(self) -> list[dict]:
        return self.store.products()

    def product_by_reference(self, reference: str) -> dict | None:
        return self.store.product_by_reference(reference)

    def manufacturers_named(self, name: str) -> list[dict]:
        return self.store.manufacturers_named(name)

    def feature_named(self, name: str, lang: int = 1) -> dict | None:
        return self.store.feature_named(name, lang)

    def feature_value_text(self, value_id: int, lang: int = 1) -> str | None:
        return self.store.feature_value_text(value_id, lang)

    def image_url(self, image_id: int) -> str:
        """The public URL of an image file, as PrestaShop lays them out: /img/p/1/2/12.jpg."""
        return f"{self.url}/img/p/{'/'.join(str(image_id))}/{image_id}.jpg"

    # ---------------------------------------------------------------------------------------- request paths

    def _api(self, method: str, path: str, query: str, headers, body: bytes | None) -> Response:
        target = path + (f"?{query}" if query else "")
        with self._meta_lock:
            self.calls.append((method, target))
            failure = self._failures.pop(0) if self._failures else None
            latency = self.latency_ms
        if latency:
            time.sleep(latency / 1000)
        if failure is not None:
            return Response(
                failure[0],
                failure[1].encode("utf-8"),
                {"Content-Type": "text/html; charset=utf-8"} if failure[1] else {},
            )
        if self.down:
            return Response(
                503,
                b"<html><body><h1>503 Service Unavailable</h1></body></html>",
                {"Content-Type": "text/html; charset=utf-8"},
            )
        query_pairs = parse_qsl(query, keep_blank_values=True)
        params = parse_params(query_pairs)
        key = None
        auth = headers.get("Authorization", "")
        match = re.match(r"Basic\s+(.*)$", auth, re.I)
        if match:
            try:
                decoded = base64.b64decode(match.group(1)).decode("utf-8", "replace")
            except ValueError:
                decoded = ""
            key = re.sub(r"<[^>]*>", "", decoded.split(":", 1)[0])
        elif "ws_key" in params:
            key = params["ws_key"] if isinstance(params["ws_key"], str) else ""
        if key is None:
            return Response(
                401,
                b"401 Unauthorized",
                {
                    "WWW-Authenticate": (
                        'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as the '
                        'login. No password required."'
                    ),
                    "Content-Type": "text/html; charset=UTF-8",
                },
            )
        method = params.get("ps_method", method) if isinstance(params.get("ps_method"), str) else method
        segments = path[len("/api/") :].split("/") if path.startswith("/api/") else [""]
        lowered = {k.lower(): v for k, v in headers.items()}
        lowered["x-sandbox-key"] = key
        response = self.webservice.handle(method, segments, params, lowered, body, self.ws_url)
        if response.wrote:
            self._save()
        return response

    def api_request(self, method: str, path: str, query: str, headers, body: bytes | None) -> Response:
        """One `/api/…` call without a socket (tests drive the sandbox in process); fault injection applies."""
        return self._api(method, path, query, headers, body)

    def _public_image(self, path: str) -> Response:
        match = re.fullmatch(r"/img/p/((?:\d/)+)(\d+)(?:-[a-z_]+)?\.(jpg|jpeg|webp|png)", path)
        if match and match.group(1).replace("/", "") == match.group(2):
            with self.store.lock:
                image = self.store.images.get(int(match.group(2)))
            if image and image["served"]:
                return Response(200, image["served"], {"Content-Type": "image/jpeg"})
        return Response(404, b"Not Found", {"Content-Type": "text/plain; charset=utf-8"})

    def _save(self) -> None:
        if self.state_file is None:
            return
        with self._save_lock:
            self.store.save(self.state_file)

    # ---------------------------------------------------------------------------------------- human page

    def html_page(self) -> str:
        esc = html.escape
        rows = []
        with self.store.lock:
            categories = {cid: r["name"].get(1, "") for cid, r in self.store.tables["categories"].items()}
            features = {fid: r["name"].get(1, "") for fid, r in self.store.tables["product_features"].items()}
            values = {vid: r["value"].get(1, "") for vid, r in self.store.tables["product_feature_values"].items()}
        for p in self.store.products():
            cats = ", ".join(f"{c} {esc(categories.get(c, '?'))}" for c in p["categories"])
            feats = "<br>".join(
                f"{esc(features.get(f, str(f)))}: {esc(values.get(v, str(v)))}" for f, v in p["features"]
            )
            thumbs = " ".join(
                f'<a href="{self.image_url(i["id"])}"><img src="{self.image_url(i["id"])}" height="60" '
                f'alt="image {i["id"]}" title="image {i["id"]}{" (cover)" if i["cover"] else ""}"></a>'
                for i in p["images"]
                if i["served"]
            )
            rows.append(
                f"<tr><td>{p['id']}</td><td>{esc(p['reference'])}</td><td>{esc(p['name'].get(1, ''))}</td>"
                f"<td>{p['price']:.2f}</td><td>{p['quantity']}</td><td>{'yes' if p['active'] else 'no'}</td>"
                f"<td>{cats}</td><td>{esc(p['manufacturer_name'])}</td><td>{feats}</td><td>{thumbs}</td></tr>"
            )
        counts = self.store.counts()
        body = "\n".join(rows) or '<tr><td colspan="10">No products yet.</td></tr>'
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox PrestaShop</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}th{{background:#eee}}</style>
</head><body>
<h1>Sandbox PrestaShop</h1>
<p>Webservice: <code>{esc(self.ws_url)}</code> (key as HTTP Basic user). {counts["products"]} products,
{counts["manufacturers"]} manufacturers, {counts["product_features"]} features, {counts["images"]} images.</p>
<table><thead><tr><th>id</th><th>reference</th><th>name</th><th>price</th><th>quantity</th><th>active</th>
<th>categories</th><th>manufacturer</th><th>features</th><th>images</th></tr></thead>
<tbody>
{body}
</tbody></table></body></html>
"""
