"""One small interface, two ways to get an export's rows into Productsup.

    transport.send_batch(batch_id=..., kind="full"|"delta", items=<iterable of ExportItem>) -> commit answer
    transport.discard(batch_id)

- `PlatformTransport` (the Platform API batch flow): rows go up in upload requests of at most
  10,000 rows, all under one 32-character batch id, then one commit (`full` replaces the site's data,
  `delta` updates it; `automatic_import: true`). A deleted product is a row with `pup:isdeleted`
  (-1 hard, 1 soft); a full export simply leaves hard-deleted products out (the full commit replaces
  everything). If anything fails midway the batch is discarded, so nothing of it is imported and the
  caller sends it again as a whole under a new batch id.
- `StreamTransport` (the Stream API): rows go up as NDJSON (upserts by id, one remote batch per
  request); a hard-deleted product is deleted from the stream by id, a soft-deleted one is uploaded
  with `pup:isdeleted` = 1. A full export uploads every product and deletes the ids the service no
  longer holds (never the documented delete-all). There is no commit: the stream is live data.

Items are consumed once, in order, and at most one request's rows are held in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from connectors.productsup.client import (
    MAX_ROWS_PER_UPLOAD,
    PlatformClient,
    ProductsupError,
    StreamClient,
    UploadReceipt,
)
from connectors.productsup.rows import DELETE_FLAG, HARD_DELETE, SOFT_DELETE, encode_row

logger = logging.getLogger(__name__)

FULL = "full"
DELTA = "delta"
# The dummy row the docs suggest for clearing a site with a full commit (used when the catalogue is empty).
EMPTY_MARKER_ID = "__products_sync_empty__"
MAX_ERROR_SAMPLES = 20


@dataclass(frozen=True, slots=True)
class ExportItem:
    """One product of an export: its row (the live form) and whether the service deleted it."""

    row: dict[Any, Any]
    deleted: bool = False


@dataclass
class BatchStats:
    rows: int = 0  # rows uploaded (deletion rows included)
    deleted: int = 0  # products deleted (as pup:isdeleted rows or stream deletes)
    skipped: int = 0  # deleted products a full export leaves out
    requests: int = 0  # upload / delete requests (commit not counted)
    commits: int = 0
    bytes: int = 0
    invalid: int = 0  # Stream API partial uploads: products the stream refused
    remote_batch_ids: list[str] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list[Any])

    def as_dict(self) -> dict[Any, Any]:
        return {
            "rows": self.rows,
            "deleted": self.deleted,
            "skipped": self.skipped,
            "requests": self.requests,
            "commits": self.commits,
            "bytes": self.bytes,
            "invalid": self.invalid,
        }


class ExportFailed(Exception):
    """The batch could not be completed. `discarded`: the remote batch was discarded (nothing imported);
    `retryable`: sending the batch again later may succeed (the cause was transient)."""

    def __init__(self, message: str, *, stats: BatchStats, cause: Exception, discarded: bool, stage: str) -> None:
        super().__init__(message)
        self.stats = stats
        self.cause = cause
        self.discarded = discarded
        self.stage = stage  # upload / commit / delete
        self.retryable = bool(getattr(cause, "retryable", True))


ProgressCallback = Callable[[BatchStats], None]


class ExportTransport(Protocol):
    name: str

    def send_batch(
        self, *, batch_id: str, kind: str, items: Iterable[ExportItem], on_progress: ProgressCallback | None = None
    ) -> tuple[dict[Any, Any], BatchStats]: ...

    def discard(self, batch_id: str) -> dict[Any, Any]: ...


class _Chunk:
    """Encoded rows of the next request (bytes, not dicts: about the size of the body itself)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, encoded: bytes) -> None:
        self.parts.append(encoded)
        self.size += len(encoded) + 1

    def __len__(self) -> int:
        return len(self.parts)

    def clear(self) -> None:
        self.parts = []
        self.size = 0


class PlatformTransport:
    name = "platform"

    def __init__(self, client: PlatformClient, *, soft_delete: bool = False, automatic_import: bool = True) -> None:
        self.client = client
        self.soft_delete = soft_delete
        self.automatic_import = automatic_import
        self.max_rows = min(client.max_rows_per_upload, MAX_ROWS_PER_UPLOAD)

    def send_batch(
        self, *, batch_id: str, kind: str, items: Iterable[ExportItem], on_progress: ProgressCallback | None = None
    ) -> tuple[dict[Any, Any], BatchStats]:
        if kind not in (FULL, DELTA):
            raise ValueError(kind)
        stats = BatchStats()
        chunk = _Chunk()

        def flush() -> None:
            body = b"[" + b",".join(chunk.parts) + b"]"
            receipt = self.client.upload_body(batch_id, body, len(chunk))
            stats.requests += 1
            stats.bytes += receipt.bytes
            chunk.clear()
            if on_progress:
                on_progress(stats)

        stage = "upload"
        try:
            for item in items:
                row = item.row
                if item.deleted:
                    if kind == FULL and not self.soft_delete:
                        stats.skipped += 1  # the full commit replaces everything: leaving it out deletes it
                        continue
                    row = {**row, DELETE_FLAG: SOFT_DELETE if self.soft_delete else HARD_DELETE}
                    stats.deleted += 1
                chunk.add(encode_row(row))
                stats.rows += 1
                if len(chunk) >= self.max_rows:
                    flush()
            if kind == FULL and stats.rows == 0:
                # An empty catalogue: the documented way to clear a site is one hard-deleted dummy + full commit.
                chunk.add(encode_row({"id": EMPTY_MARKER_ID, DELETE_FLAG: HARD_DELETE}))
            if len(chunk):
                flush()
            if stats.requests == 0:
                return {"success": True, "message": "nothing to send"}, stats
            stage = "commit"
            answer = self.client.commit(batch_id, kind=kind, automatic_import=self.automatic_import)
            stats.commits += 1
            if on_progress:
                on_progress(stats)
            return answer, stats
        except Exception as exc:
            discarded = self._discard_quietly(batch_id, stats)
            logger.warning("productsup batch %s failed during %s (discarded=%s): %s", batch_id, stage, discarded, exc)
            raise ExportFailed(
                f"{kind} batch {batch_id} failed during {stage}: {exc}",
                stats=stats,
                cause=exc,
                discarded=discarded,
                stage=stage,
            ) from exc

    def discard(self, batch_id: str) -> dict[Any, Any]:
        return self.client.discard(batch_id)

    def _discard_quietly(self, batch_id: str, stats: BatchStats) -> bool:
        try:
            self.client.discard(batch_id)
            return True
        except ProductsupError as exc:
            # A batch that never received a row is unknown to Productsup: nothing to discard.
            if getattr(exc, "status", None) == 404 and stats.requests == 0:
                return True
            logger.warning("productsup discard of batch %s failed: %s", batch_id, exc)
            stats.errors.append({"discard": str(exc)})
            return False
        except Exception as exc:  # noqa: BLE001 — never mask the original failure
            logger.warning("productsup discard of batch %s failed: %s", batch_id, exc)
            stats.errors.append({"discard": str(exc)})
            return False


class StreamTransport:
    name = "stream"

    def __init__(
        self,
        client: StreamClient,
        *,
        soft_delete: bool = False,
        max_rows: int = MAX_ROWS_PER_UPLOAD,
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.client = client
        self.soft_delete = soft_delete
        self.max_rows = max(1, max_rows)
        self.max_bytes = max_bytes

    def send_batch(
        self, *, batch_id: str, kind: str, items: Iterable[ExportItem], on_progress: ProgressCallback | None = None
    ) -> tuple[dict[Any, Any], BatchStats]:
        if kind not in (FULL, DELTA):
            raise ValueError(kind)
        stats = BatchStats()
        uploads = _Chunk()
        deletes: list[str] = []

        def record(receipt: UploadReceipt) -> None:
            stats.requests += 1
            stats.bytes += receipt.bytes
            if receipt.remote_batch_id:
                stats.remote_batch_ids.append(receipt.remote_batch_id)
            if receipt.error_count:
                stats.invalid += receipt.error_count
                room = MAX_ERROR_SAMPLES - len(stats.errors)
                if room > 0:
                    stats.errors.extend(receipt.errors[:room])
            if on_progress:
                on_progress(stats)

        def flush_uploads() -> None:
            body = b"\n".join(uploads.parts) + b"\n"
            receipt = self.client.upload_body(body, len(uploads))
            uploads.clear()
            record(receipt)

        def flush_deletes() -> None:
            receipt = self.client.delete(deletes)
            deletes.clear()
            record(receipt)

        stage = "upload"
        try:
            for item in items:
                if item.deleted and not self.soft_delete:
                    deletes.append(str(item.row["id"]))
                    stats.deleted += 1
                    # Deletes of a delta go with their uploads; a full export deletes after uploading everything.
                    if len(deletes) >= self.max_rows:
                        stage = "delete"
                        flush_deletes()
                        stage = "upload"
                    continue
                row = item.row
                if item.deleted:
                    row = {**row, DELETE_FLAG: SOFT_DELETE}
                    stats.deleted += 1
                encoded = encode_row(row)
                if len(uploads) and (len(uploads) >= self.max_rows or uploads.size + len(encoded) > self.max_bytes):
                    flush_uploads()
                uploads.add(encoded)
                stats.rows += 1
            if len(uploads):
                flush_uploads()
            if deletes:
                stage = "delete"
                flush_deletes()
        except Exception as exc:
            raise ExportFailed(
                f"{kind} stream export {batch_id} failed during {stage}: {exc}",
                stats=stats,
                cause=exc,
                discarded=False,  # stream writes are idempotent upserts/deletes: resending converges
                stage=stage,
            ) from exc
        answer = {
            "transport": "stream",
            "stream_id": self.client.stream_id,
            "remote_batches": stats.remote_batch_ids[-50:],
            "uploaded": stats.rows,
            "deleted": stats.deleted,
            "invalid": stats.invalid,
        }
        if stats.errors:
            answer["errors"] = stats.errors
        return answer, stats

    def discard(self, batch_id: str) -> dict[Any, Any]:
        return {"success": True, "message": "the Stream API has no batches to discard; nothing to do"}
