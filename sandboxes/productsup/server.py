"""A sandbox Productsup: the Platform API subset and the Stream API subset the service uses, over real HTTP.

Same paths, envelopes, auth, limits and lock/rate-limit behaviour as Productsup's Platform API documentation (docs/productsup.md) and
Productsup's Stream API pages, so the service and its end-to-end tests run against it unchanged:

Platform API (X-Auth-Token: id:secret), under `/platform/v2`:
  GET  /sites, /sites/{id}, /sites/{tagName}:{tagValue}
  POST /sites/{site}/products/{batchId}/upload     JSON array, ≤ 10,000 rows; 423 while the batch is busy
  POST /sites/{site}/products/{batchId}/commit     {"type": "full"|"delta", "automatic_import": bool}
  POST /sites/{site}/products/{batchId}/discard
  DELETE /sites/{site}/products                    clears the site's API data
  POST /process/{siteId}                           1 per site per `process_interval` s, else 429 + Retry-After
  GET  /sites/{siteId}/status/{pid}, /sites/{siteId}/errors, /sites/{siteId}/importhistory
Product read (X-Auth-Token), under `/product/v2`: GET /site/{siteId}/stage/{stage}/{stageId}[/properties], 60/min.
Stream API (Authorization: Bearer <token>), under `/stream`:
  POST|PUT|PATCH /streams/{streamId}/products      NDJSON; 1 MB/product, 200 MB/request, 30 requests/s/stream;
                                                   200 all accepted, 202 partial (error samples), 422 none
  DELETE /streams/{streamId}/products              NDJSON ids, or ?all=true
  DELETE /streams/{streamId}/products/{productId}
  GET    /streams/{streamId}/batches/{batchId}

Site data: a `full` commit replaces it, a `delta` commit merges it (`pup:isdeleted` -1 removes the row,
1 keeps it marked soft-deleted). This module must not import Django.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sandboxes.server import SandboxHandler, SandboxServer

MAX_ROWS_PER_UPLOAD = 10_000
STREAM_MAX_PRODUCT_BYTES = 1024 * 1024
STREAM_MAX_REQUEST_BYTES = 200 * 1024 * 1024
DELETE_FLAG = "pup:isdeleted"
# Sandbox credentials (the defaults of config.settings' PRODUCTSUP_* under `make run`); not secrets.
SANDBOX_CLIENT_ID = "1234"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
SANDBOX_STREAM_TOKEN = "sandbox-stream-token"
LOCKED_MESSAGE = "Request was blocked because another data operation is already running"


@dataclass
class Call:
    method: str
    path: str
    status: int
    rows: int = 0
    batch_id: str = ""
    at: float = field(default_factory=time.time)


@dataclass
class Batch:
    site_id: int
    batch_id: str
    rows: list = field(default_factory=list)
    status: str = "open"  # open / committed / discarded
    type: str = ""
    uploads: int = 0
    received: int = 0  # rows received by uploads (kept after commit/discard, for inspection)
    busy: bool = False
    duplicates: int = 0  # rows whose id was already in this batch (the service must never cause this)
    ids: set = field(default_factory=set)
    automatic_import: bool | None = None
    received_rows: list | None = None  # every row received, kept when the sandbox runs with keep_rows=True

    def summary(self) -> dict:
        return {
            "site_id": self.site_id,
            "batch_id": self.batch_id,
            "status": self.status,
            "type": self.type,
            "uploads": self.uploads,
            "rows": self.received,
            "duplicates": self.duplicates,
            "automatic_import": self.automatic_import,
        }


@dataclass
class Fault:
    method: str | None
    path_contains: str
    status: int
    times: int
    body: dict | None
    after: bool  # apply the operation, then answer the error (an ambiguous failure)
    headers: dict
    skip: int = 0  # let this many matching requests through first


class SandboxState:
    """Everything the sandbox knows; every access under one lock."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        site_id: int,
        site_tag: tuple[str, str] | None,
        stream_id: str,
        stream_token: str,
        process_interval: float,
        stream_rate: int,
        read_rate: int,
    ) -> None:
        self.lock = threading.RLock()
        self.token = f"{client_id}:{client_secret}"
        self.stream_token = stream_token
        self.sites: dict[int, dict] = {}
        self.site_data: dict[int, dict[str, dict]] = {}
        self.batches: dict[tuple[int, str], Batch] = {}
        self.processes: dict[str, dict] = {}
        self.last_process: dict[int, float] = {}
        self.imports: dict[int, list[dict]] = {}
        self.errors: dict[int, list[dict]] = {}
        self.streams: dict[str, dict[str, dict]] = {str(stream_id): {}}
        self.stream_batches: dict[str, dict[str, dict]] = {str(stream_id): {}}
        self.stream_hits: dict[str, deque] = {}
        self.read_hits: deque = deque()
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.process_interval = process_interval
        self.keep_rows = False
        self.stream_rate = stream_rate
        self.read_rate = read_rate
        self.add_site(site_id, title="Sandbox site", tag=site_tag)

    def add_site(self, site_id: int, *, title: str = "", tag: tuple[str, str] | None = None) -> None:
        with self.lock:
            self.sites[int(site_id)] = {
                "id": str(site_id),
                "title": title or f"site {site_id}",
                "status": "active",
                "project_id": "321",
                "id_column": "id",
                "processing_status": "Done",
                "created_at": "2015-01-01 11:22:33",
                "tags": dict([tag]) if tag else {},
            }
            self.site_data.setdefault(int(site_id), {})

    # persistence (CLI) ---------------------------------------------------------------------------
    def dump(self) -> dict:
        with self.lock:
            return {
                "site_data": {str(k): v for k, v in self.site_data.items()},
                "streams": self.streams,
                "imports": {str(k): v for k, v in self.imports.items()},
                "batches": [b.summary() for b in self.batches.values()],
            }

    def load(self, data: dict) -> None:
        with self.lock:
            for k, rows in (data.get("site_data") or {}).items():
                self.site_data[int(k)] = rows
            for k, rows in (data.get("streams") or {}).items():
                self.streams[k] = rows
                self.stream_batches.setdefault(k, {})
            for k, rows in (data.get("imports") or {}).items():
                self.imports[int(k)] = rows


class _Handler(SandboxHandler):
    server_version = "ProductsupSandbox/1.0"

    @property
    def state(self) -> SandboxState:
        return self.server.sandbox.state

    # dispatch -------------------------------------------------------------------------------------
    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path).rstrip("/") or "/"
        self.query = parse_qs(url.query)
        self._status = 0
        self._rows = 0
        self._batch = ""
        self._after_fault: Fault | None = None
        self._before_send: Callable[[], None] | None = None
        length = int(self.headers.get("Content-Length") or 0)
        if path.startswith("/stream/") and length > STREAM_MAX_REQUEST_BYTES:
            self._drain(length)
            return self._stream_error(method, path, 413, "Payload Too Large")
        self.body = self.rfile.read(length) if length else b""
        try:
            fault = self._take_fault(method, path)
            if fault and not fault.after:
                return self._send(fault.status, self._fault_body(path, fault), headers=fault.headers)
            # after=True: the operation happens; the client only sees the error (as after a lost answer).
            self._after_fault = fault
            if path.startswith("/platform/v2/") or path == "/platform/v2":
                self._platform(method, path[len("/platform/v2") :] or "/")
            elif path.startswith("/product/v2/"):
                self._product_read(method, path[len("/product/v2") :])
            elif path.startswith("/stream/"):
                self._stream(method, path[len("/stream") :])
            else:
                self._send(404, {"success": False, "message": "Not Found"})
        except Exception as exc:  # noqa: BLE001 — a sandbox bug must answer, not hang the client
            self._send(500, {"success": False, "message": f"sandbox error: {exc!r}"})
        finally:
            with self.state.lock:
                self.state.calls.append(Call(method, path, self._status, self._rows, self._batch))

    def _drain(self, length: int) -> None:
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.state.lock:
            for fault in self.state.faults:
                if (fault.method is None or fault.method == method) and fault.path_contains in path:
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    if fault.times <= 0:
                        self.state.faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _fault_body(path: str, fault: Fault) -> dict:
        if fault.body:
            return fault.body
        if path.startswith("/stream/"):
            return {"errors": [{"status": str(fault.status), "title": "Injected failure"}]}
        return {"success": False, "message": f"Injected failure {fault.status}"}

    # responses ------------------------------------------------------------------------------------
    def _send(
        self, status: int, payload: dict, *, headers: dict | None = None, content_type: str = "application/json"
    ) -> None:
        if self._status:
            return
        if self._before_send is not None:
            self._before_send()
        if self._after_fault is not None:
            fault, self._after_fault = self._after_fault, None
            status, payload, headers = fault.status, self._fault_body(self.path, fault), fault.headers
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self._status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", uuid.uuid4().hex)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)

    def _stream_error(self, method: str, path: str, status: int, title: str, headers: dict | None = None) -> None:
        self._send(
            status,
            {"errors": [{"status": str(status), "title": title}]},
            headers=headers,
            content_type="application/vnd.api+json",
        )

    # --- Platform API -----------------------------------------------------------------------------
    def _platform_auth(self) -> bool:
        if self.headers.get("X-Auth-Token") != self.state.token:
            self._send(401, {"success": False, "message": "Forbidden, your auth token seems to be invalid"})
            return False
        return True

    def _site(self, ident: str) -> int | None:
        with self.state.lock:
            if ident.isdigit():
                return int(ident) if int(ident) in self.state.sites else None
            if ":" in ident:
                name, value = ident.split(":", 1)
                for sid, site in self.state.sites.items():
                    if site["tags"].get(name) == value:
                        return sid
        return None

    def _site_json(self, sid: int) -> dict:
        site = {k: v for k, v in self.state.sites[sid].items() if k != "tags"}
        base = "/platform/v2"
        site["links"] = [{"self": f"{base}/sites/{sid}"}, {"tags": f"{base}/sites/{sid}/tags"}]
        return site

    def _platform(self, method: str, path: str) -> None:
        if not self._platform_auth():
            return
        parts = [p for p in path.split("/") if p]
        if method == "GET" and parts == ["sites"]:
            with self.state.lock:
                return self._send(200, {"success": True, "Sites": [self._site_json(s) for s in self.state.sites]})
        if len(parts) >= 2 and parts[0] == "sites":
            sid = self._site(parts[1])
            if sid is None:
                return self._send(404, {"success": False, "message": "Site not found"})
            rest = parts[2:]
            if method == "GET" and not rest:
                return self._send(200, {"success": True, "Sites": [self._site_json(sid)]})
            if rest and rest[0] == "products":
                if len(rest) == 1 and method == "DELETE":
                    with self.state.lock:
                        self.state.site_data[sid] = {}
                    return self._send(200, {"success": True})
                if len(rest) == 3 and method == "POST":
                    return self._batch_op(sid, rest[1], rest[2])
            if method == "GET" and len(rest) == 2 and rest[0] == "status":
                return self._process_status(sid, rest[1])
            if method == "GET" and rest == ["errors"]:
                pid = (self.query.get("pid") or [None])[0]
                limit = int((self.query.get("limit") or [50])[0])
                offset = int((self.query.get("offset") or [0])[0])
                with self.state.lock:
                    errors = [e for e in self.state.errors.get(sid, []) if pid is None or e["pid"] == pid]
                return self._send(200, {"success": True, "Errors": errors[offset : offset + limit]})
            if method == "GET" and rest == ["importhistory"]:
                with self.state.lock:
                    history = list(reversed(self.state.imports.get(sid, [])))
                return self._send(200, {"success": True, "Importhistory": history})
        if len(parts) == 2 and parts[0] == "process" and method == "POST":
            return self._process_trigger(parts[1])
        return self._send(
            404 if method in ("GET", "POST", "DELETE") else 405, {"success": False, "message": "Not Found"}
        )

    def _json_body(self) -> object:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def _batch_op(self, sid: int, batch_id: str, action: str) -> None:
        self._batch = batch_id
        if action not in ("upload", "commit", "discard"):
            return self._send(404, {"success": False, "message": "Not Found"})
        if len(batch_id) != 32:
            return self._send(400, {"success": False, "message": "The batch id must be exactly 32 characters long"})
        key = (sid, batch_id)
        with self.state.lock:
            batch = self.state.batches.get(key)
            if batch is None and action == "upload":
                batch = self.state.batches[key] = Batch(site_id=sid, batch_id=batch_id)
            if batch is None:
                return self._send(404, {"success": False, "message": "Batch not found"})
            if batch.busy and action in ("upload", "commit"):
                return self._send(423, {"success": False, "message": LOCKED_MESSAGE})
            if batch.status != "open":
                if action == "commit" and batch.status == "committed":
                    return self._send(200, {"success": True, "message": "Batch already committed"})
                return self._send(400, {"success": False, "message": f"Batch is already {batch.status}"})
            batch.busy = True

        def release() -> None:
            with self.state.lock:
                batch.busy = False

        # The batch is free again before the answer leaves: a client that sends the next call the moment it
        # reads the answer must not find it locked (423) by the call it already got an answer to.
        self._before_send = release
        try:
            if action == "upload":
                self._upload(batch)
            elif action == "commit":
                self._commit(batch)
            else:
                with self.state.lock:
                    batch.status = "discarded"
                    batch.rows = []
                    batch.ids = set()
                self._send(200, {"success": True})
        finally:
            self._before_send = None
            release()

    def _upload(self, batch: Batch) -> None:
        rows = self._json_body()
        if isinstance(rows, dict):
            rows = [rows]
        if not isinstance(rows, list) or not rows:
            return self._send(400, {"success": False, "message": "The body must be a JSON array of products"})
        if len(rows) > MAX_ROWS_PER_UPLOAD:
            return self._send(
                400, {"success": False, "message": f"At most {MAX_ROWS_PER_UPLOAD} products per upload request"}
            )
        for row in rows:
            if not isinstance(row, dict) or "id" not in row or row["id"] in ("", None):
                return self._send(400, {"success": False, "message": 'adding one column "id" is mandatory'})
            if any(isinstance(v, dict | list) for v in row.values()):
                return self._send(400, {"success": False, "message": "rows are not allowed to contain arrays"})
        with self.state.lock:
            for row in rows:
                rid = str(row["id"])
                if rid in batch.ids:
                    batch.duplicates += 1
                batch.ids.add(rid)
            batch.rows.extend(rows)
            if self.state.keep_rows:
                batch.received_rows = (batch.received_rows or []) + rows
            batch.uploads += 1
            batch.received += len(rows)
        self._rows = len(rows)
        self._send(200, {"success": True, str(batch.site_id): {"count": len(rows)}})

    def _commit(self, batch: Batch) -> None:
        body = self._json_body()
        body = body if isinstance(body, dict) else {}
        kind = body.get("type", "full")
        if kind not in ("full", "delta"):
            return self._send(400, {"success": False, "message": "type must be full or delta"})
        if not batch.uploads:
            return self._send(400, {"success": False, "message": "no data submitted yet"})
        with self.state.lock:
            data = {} if kind == "full" else self.state.site_data.setdefault(batch.site_id, {})
            for row in batch.rows:
                rid = str(row["id"])
                flag = str(row.get(DELETE_FLAG, "0")).strip()
                if flag == "-1":
                    data.pop(rid, None)
                else:
                    data[rid] = {**row, "id": rid}
            self.state.site_data[batch.site_id] = data
            batch.status = "committed"
            batch.type = kind
            batch.automatic_import = bool(body.get("automatic_import", True))
            self._rows = len(batch.rows)
            batch.rows = []  # what stays is the site's data
            if batch.automatic_import:
                self.state.imports.setdefault(batch.site_id, []).append(
                    {
                        "id": str(len(self.state.imports.get(batch.site_id, [])) + 1),
                        "site_id": batch.site_id,
                        "import_time": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "product_count": str(len(data)),
                        "links": [{"site": f"/platform/v2/sites/{batch.site_id}"}],
                    }
                )
        self._send(200, {"success": True})

    def _process_trigger(self, site: str) -> None:
        sid = self._site(site) if site.isdigit() else None
        if sid is None:
            return self._send(404, {"success": False, "message": "Site not found"})
        body = self._json_body()
        body = body if isinstance(body, dict) else {}
        action = body.get("action")
        if action not in ("import", "export", "channel", "export-all", "all"):
            return self._send(400, {"success": False, "message": "Unknown action"})
        if action in ("export", "channel") and not body.get("id"):
            return self._send(400, {"success": False, "message": "An export or channel id is required"})
        now = time.monotonic()
        with self.state.lock:
            last = self.state.last_process.get(sid)
            if last is not None and now - last < self.state.process_interval:
                retry = max(1, int(self.state.process_interval - (now - last) + 0.999))
                return self._send(
                    429, {"success": False, "message": "Too many attempts"}, headers={"Retry-After": retry}
                )
            self.state.last_process[sid] = now
            pid = uuid.uuid4().hex
            self.state.processes[pid] = {
                "site_id": sid,
                "action": action,
                "batch_id": body.get("batch_id"),
                "status": "success",
                "created": now,
            }
        self._send(200, {"success": True, "process_id": pid})

    def _process_status(self, sid: int, pid: str) -> None:
        with self.state.lock:
            process = self.state.processes.get(pid)
        status = process["status"] if process and process["site_id"] == sid else "queued"
        base = f"/platform/v2/sites/{sid}"
        links = [{"self": f"{base}/status/{pid}"}]
        if status == "failed":
            links.insert(0, {"errors": f"{base}/errors?pid={pid}"})
        self._send(200, {"success": True, "status": status, "links": links})

    # --- Product read -----------------------------------------------------------------------------
    def _product_read(self, method: str, path: str) -> None:
        if not self._platform_auth():
            return
        parts = [p for p in path.split("/") if p]
        if method != "GET" or len(parts) < 5 or parts[0] != "site" or parts[2] != "stage":
            return self._send(404, {"success": False, "message": "Not Found"})
        now = time.monotonic()
        with self.state.lock:
            hits = self.state.read_hits
            while hits and now - hits[0] >= 60:
                hits.popleft()
            if len(hits) >= self.state.read_rate:
                retry = max(1, int(60 - (now - hits[0]) + 0.999))
                return self._send(
                    429, {"success": False, "message": "Too many attempts"}, headers={"Retry-After": retry}
                )
            hits.append(now)
            sid = self._site(parts[1])
            if sid is None:
                return self._send(404, {"success": False, "message": "Site not found"})
            rows = list(self.state.site_data.get(sid, {}).values())
        if len(parts) == 6 and parts[5] == "properties":
            columns = sorted({k for r in rows for k in r})
            return self._send(200, {"success": True, "columns": columns, "products": len(rows)})
        limit = int((self.query.get("limit") or [5000])[0])
        offset = int((self.query.get("offset") or [0])[0])
        fields = [v[0] for k, v in sorted(self.query.items()) if k.startswith("fields")]
        page = rows[offset : offset + limit]
        if fields:
            page = [{k: r.get(k, "") for k in fields} for r in page]
        self._send(200, {"success": True, "products": page})

    # --- Stream API -------------------------------------------------------------------------------
    def _stream(self, method: str, path: str) -> None:
        if self.headers.get("Authorization") != f"Bearer {self.state.stream_token}":
            return self._stream_error(method, path, 401, "Unauthorized")
        parts = [p for p in path.split("/") if p]
        if len(parts) < 3 or parts[0] != "streams":
            return self._stream_error(method, path, 404, "Not Found")
        sid = parts[1]
        with self.state.lock:
            if sid not in self.state.streams:
                return self._stream_error(method, path, 404, "Stream not found")
        if parts[2] == "products":
            if not self._stream_rate_ok(sid):
                return
            if len(parts) == 3 and method in ("POST", "PUT", "PATCH"):
                return self._stream_upload(sid)
            if len(parts) == 3 and method == "DELETE":
                return self._stream_delete(sid, None)
            if len(parts) == 4 and method == "DELETE":
                return self._stream_delete(sid, [parts[3]])
        if parts[2] == "batches" and len(parts) == 4 and method == "GET":
            with self.state.lock:
                batch = self.state.stream_batches[sid].get(parts[3])
            if batch is None:
                return self._stream_error(method, path, 404, "Batch not found")
            return self._send(200, {"data": batch}, content_type="application/vnd.api+json")
        return self._stream_error(method, path, 404, "Not Found")

    def _stream_rate_ok(self, sid: str) -> bool:
        now = time.time()
        with self.state.lock:
            hits = self.state.stream_hits.setdefault(sid, deque())
            while hits and now - hits[0] >= 1.0:
                hits.popleft()
            limit = self.state.stream_rate
            if len(hits) >= limit:
                headers = {
                    "ratelimit-limit": limit,
                    "ratelimit-observed": len(hits),
                    "ratelimit-remaining": 0,
                    "ratelimit-reset": f"{hits[0] + 1.0:.3f}",
                }
                self._stream_error("", "", 429, "Too Many Requests", headers=headers)
                return False
            hits.append(now)
        return True

    def _parse_products(self) -> tuple[list[dict], list[dict]]:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        valid: list[dict] = []
        invalid: list[dict] = []
        if ctype == "application/json":
            try:
                data = json.loads(self.body or b"[]")
            except ValueError:
                data = None
            lines = [json.dumps(d).encode() for d in data] if isinstance(data, list) else [self.body]
        else:
            lines = [line for line in self.body.split(b"\n") if line.strip()]
        for line in lines:
            if len(line) > STREAM_MAX_PRODUCT_BYTES:
                invalid.append(
                    {
                        "message": "The product exceeds the maximum size of 1 MB",
                        "example": line[:200].decode("utf-8", "replace"),
                    }
                )
                continue
            try:
                product = json.loads(line)
            except ValueError:
                invalid.append({"message": "Invalid JSON", "example": line[:200].decode("utf-8", "replace")})
                continue
            if not isinstance(product, dict) or product.get("id") in (None, ""):
                invalid.append({"message": "The product has no id attribute", "example": product})
                continue
            valid.append(product)
        return valid, invalid

    def _stream_batch(self, sid: str, *, ok: int, bad: list[dict], kind: str) -> dict:
        status = "failed" if bad and not ok else "uploaded"
        stage = "failure" if bad and not ok else ("warning" if bad else "success")
        # Unique messages with one example each, as Productsup reports them.
        samples: dict[str, dict] = {}
        for err in bad:
            samples.setdefault(err["message"], err)
        batch = {
            "type": "batch",
            "id": str(uuid.uuid4()),
            "attributes": {
                "status": status,
                "kind": kind,
                "stages": {
                    "upload": {
                        "status": stage,
                        "successCount": ok,
                        "errorCount": len(bad),
                        "errors": list(samples.values())[:10],
                    },
                    "processing": None,
                },
                "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        }
        with self.state.lock:
            self.state.stream_batches[sid][batch["id"]] = batch
        return batch

    def _stream_upload(self, sid: str) -> None:
        valid, invalid = self._parse_products()
        if not valid and not invalid:
            return self._stream_error("", "", 400, "Empty request body")
        with self.state.lock:
            data = self.state.streams[sid]
            for product in valid:
                data[str(product["id"])] = {**product, "id": str(product["id"])}
        self._rows = len(valid)
        batch = self._stream_batch(sid, ok=len(valid), bad=invalid, kind="upload")
        status = 422 if not valid else (202 if invalid else 200)
        self._send(status, {"data": batch}, content_type="application/vnd.api+json")

    def _stream_delete(self, sid: str, ids: list[str] | None) -> None:
        if ids is None and (self.query.get("all") or [""])[0] == "true":
            with self.state.lock:
                count = len(self.state.streams[sid])
                self.state.streams[sid] = {}
            batch = self._stream_batch(sid, ok=count, bad=[], kind="delete-all")
            return self._send(200, {"data": batch}, content_type="application/vnd.api+json")
        if ids is None:
            valid, invalid = self._parse_products()
            ids = [str(p["id"]) for p in valid]
        else:
            invalid = []
        with self.state.lock:
            data = self.state.streams[sid]
            for i in ids:
                data.pop(i, None)
        self._rows = len(ids)
        batch = self._stream_batch(sid, ok=len(ids), bad=invalid, kind="delete")
        self._send(202 if invalid else 200, {"data": batch}, content_type="application/vnd.api+json")


class SandboxProductsup(SandboxServer):
    """The sandbox as an object: start/stop, inspection and fault injection for tests.

    with SandboxProductsup(port=0) as sandbox:
        settings.PRODUCTSUP_API_URL = sandbox.platform_url
        ...
        sandbox.site_rows(123)
    """

    handler_class = _Handler
    thread_name = "productsup-sandbox"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
        site_id: int = 123,
        site_tag: str | None = "sandbox:main",
        stream_id: str = "1000",
        stream_token: str = SANDBOX_STREAM_TOKEN,
        process_interval: float = 300.0,
        stream_rate: int = 30,
        read_rate: int = 60,
        state_file: str | Path | None = None,
        keep_rows: bool = False,
    ) -> None:
        tag = tuple(site_tag.split(":", 1)) if site_tag and ":" in site_tag else None
        self.state = SandboxState(
            client_id=client_id,
            client_secret=client_secret,
            site_id=site_id,
            site_tag=tag,  # type: ignore[arg-type]
            stream_id=stream_id,
            stream_token=stream_token,
            process_interval=process_interval,
            stream_rate=stream_rate,
            read_rate=read_rate,
        )
        self.state.keep_rows = keep_rows
        super().__init__(host, port)
        self.site_id = site_id
        self.stream_id = str(stream_id)
        self.state_file = Path(state_file) if state_file else None
        if self.state_file and self.state_file.exists():
            self.state.load(json.loads(self.state_file.read_text()))

    # lifecycle ------------------------------------------------------------------------------------
    def on_stop(self) -> None:
        self.save()

    def save(self) -> None:
        if self.state_file:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state.dump()))
            tmp.replace(self.state_file)

    @property
    def platform_url(self) -> str:
        return f"{self.url}/platform/v2"

    @property
    def stream_url(self) -> str:
        return f"{self.url}/stream"

    # inspection -----------------------------------------------------------------------------------
    def site_rows(self, site_id: int | None = None) -> dict[str, dict]:
        with self.state.lock:
            return {k: dict(v) for k, v in self.state.site_data.get(site_id or self.site_id, {}).items()}

    def stream_rows(self, stream_id: str | None = None) -> dict[str, dict]:
        with self.state.lock:
            return {k: dict(v) for k, v in self.state.streams.get(str(stream_id or self.stream_id), {}).items()}

    def put_stream_rows(self, rows: list[dict], stream_id: str | None = None) -> None:
        with self.state.lock:
            data = self.state.streams[str(stream_id or self.stream_id)]
            for row in rows:
                data[str(row["id"])] = dict(row)

    def put_site_rows(self, rows: list[dict], site_id: int | None = None) -> None:
        with self.state.lock:
            data = self.state.site_data.setdefault(site_id or self.site_id, {})
            for row in rows:
                data[str(row["id"])] = dict(row)

    @property
    def batches(self) -> list[dict]:
        with self.state.lock:
            return [b.summary() for b in self.state.batches.values()]

    def batch(self, batch_id: str) -> dict | None:
        with self.state.lock:
            for b in self.state.batches.values():
                if b.batch_id == batch_id:
                    return b.summary()
        return None

    def batch_rows(self, batch_id: str) -> list[dict]:
        """Every row a batch received, in order (needs keep_rows=True)."""
        with self.state.lock:
            for b in self.state.batches.values():
                if b.batch_id == batch_id:
                    return list(b.received_rows or [])
        return []

    @property
    def calls(self) -> list[Call]:
        with self.state.lock:
            return list(self.state.calls)

    def count(self, method: str | None = None, path_contains: str = "", status: int | None = None) -> int:
        return sum(
            1
            for c in self.calls
            if (method is None or c.method == method)
            and path_contains in c.path
            and (status is None or c.status == status)
        )

    @property
    def processes(self) -> dict[str, dict]:
        with self.state.lock:
            return {k: dict(v) for k, v in self.state.processes.items()}

    def reset_calls(self) -> None:
        with self.state.lock:
            self.state.calls.clear()

    # fault injection ------------------------------------------------------------------------------
    def fail_next(
        self,
        path_contains: str = "/upload",
        *,
        status: int = 500,
        times: int = 1,
        method: str | None = None,
        body: dict | None = None,
        after: bool = False,
        headers: dict | None = None,
        skip: int = 0,
    ) -> None:
        """The next `times` requests whose path contains `path_contains` answer `status`, after letting
        `skip` of them through. `after=True`: the operation is carried out first (the answer is lost)."""
        with self.state.lock:
            self.state.faults.append(Fault(method, path_contains, status, times, body, after, headers or {}, skip))

    def lock_next_upload(self, times: int = 1) -> None:
        """The next `times` upload requests answer 423, as while another operation holds the batch."""
        self.fail_next(
            "/upload", status=423, times=times, method="POST", body={"success": False, "message": LOCKED_MESSAGE}
        )

    def lock_next_commit(self, times: int = 1) -> None:
        self.fail_next(
            "/commit", status=423, times=times, method="POST", body={"success": False, "message": LOCKED_MESSAGE}
        )

    def rate_limit_next(self, path_contains: str, *, times: int = 1, retry_after: float = 1) -> None:
        self.fail_next(
            path_contains,
            status=429,
            times=times,
            headers={"Retry-After": retry_after},
            body={"success": False, "message": "Too many attempts"},
        )

    def set_process_status(self, pid: str, status: str) -> None:
        with self.state.lock:
            self.state.processes[pid]["status"] = status
            if status == "failed":
                sid = self.state.processes[pid]["site_id"]
                self.state.errors.setdefault(sid, []).append(
                    {
                        "id": str(len(self.state.errors.get(sid, [])) + 1),
                        "pid": pid,
                        "error": "10081",
                        "data": "",
                        "site_id": str(sid),
                        "message": "Sandbox: the process failed",
                    }
                )
