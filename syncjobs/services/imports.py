"""The initial import (docs/operations.md, Initial import): an ERP export, streamed, validated like the API, stored and queued.

- `export_products(stream)` reads a JSON array, NDJSON (one product per line) or a batch body
  `{"products": [...]}` one product at a time (ijson for the JSON documents, line by line for NDJSON),
  so a file of any size is never held in memory; it yields `(position, line, raw product)`.
- `products_import(items)` validates each product as the API does (same field paths), compares it with the
  product as stored, and stores and queues (source `import`, the `bulk` queue) only what is new or
  changed: an unchanged product costs no write, no job and no shop call, so running an import twice is
  safe. A chunk's products are stored in one transaction and its jobs queued as one `sync_jobs_task`
  message per 20 jobs. A product whose last sync failed is queued again. Products are compared in chunks (one query for a
  chunk's products, images and technical data).
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

import ijson
from django.db import transaction
from django.db.models import Prefetch
from rest_framework.exceptions import ValidationError

from catalog.models import Product, ProductImage, TechnicalData
from catalog.validation import ValidatedProduct, product_validate
from config.api.errors import ApplicationError, detail
from config.api.exception_handlers import flatten_errors
from syncjobs.models import SyncSource, SyncStatus

from .enqueue import jobs_enqueue_in_chunks
from .intake import job_intake_product
from .shop import shop_unknown_categories

logger = logging.getLogger(__name__)
CHUNK_PRODUCTS = 200
CHUNK_BYTES = 64 * 1024 * 1024  # decoded image bytes held for one chunk at most
PEEK_BYTES = 64 * 1024
BATCH_START = re.compile(rb'\{\s*"products"\s*:')


class ExportFormatError(Exception):
    """The file is not one of the three formats (or its JSON breaks off): the import cannot go on."""


@dataclass
class Invalid:
    position: int
    line: int | None
    reference: str | None
    error: str
    details: list[dict[Any, Any]]


@dataclass
class ImportSummary:
    read: int = 0
    valid: int = 0
    invalid: int = 0
    queued: int = 0
    unchanged: int = 0
    dry_run: bool = False
    errors: list[Invalid] = field(default_factory=list)
    sync_ids: list[str] = field(default_factory=list)  # the first few, for the command's output


class _Prefixed(io.RawIOBase):
    """A stream that first gives back bytes already read from it (stdin cannot be rewound)."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _loads(line: bytes) -> object:
    return json.loads(line.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)


def export_products(stream: BinaryIO) -> Iterator[tuple[int, int | None, object]]:
    """`(position, line or None, product)` for every product of the export, in order. A line of NDJSON
    that is not JSON yields an `ExportFormatError` instance in place of the product (reported, skipped).

    The format is told from the first bytes (a minified JSON document is one long line, so nothing here
    reads a whole line before it knows the file is NDJSON)."""
    peek = stream.read(PEEK_BYTES)
    body = peek.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body:
        return
    again = io.BufferedReader(_Prefixed(peek, stream))
    if body.startswith(b"["):
        yield from _json_items(again, "item")
        return
    if not body.startswith(b"{"):
        raise ExportFormatError('Expected a JSON array, NDJSON or {"products": [...]}.')
    if BATCH_START.match(body):
        yield from _json_items(again, "products.item")
        return
    position = 0
    for number, line in enumerate(again, start=1):
        if not line.strip():
            continue
        position += 1
        try:
            item = _loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            if position == 1:  # `{` on a line of its own: a JSON document over several lines
                raise ExportFormatError(f"The first line is not a JSON object (NDJSON expected): {exc}") from exc
            yield position, number, ExportFormatError(f"Not valid JSON: {exc}")
            continue
        yield position, number, item


def _json_items(stream, prefix: str) -> Iterator[tuple[int, int | None, object]]:
    position = 0
    try:
        for position, item in enumerate(ijson.items(stream, prefix, use_float=False), start=1):
            yield position, None, item
    except ijson.JSONError as exc:
        raise ExportFormatError(f"The JSON breaks off after product {position}: {exc}") from exc
    if position == 0 and prefix == "products.item":
        raise ExportFormatError('Expected {"products": [...]} with a list of product objects.')


# ----------------------------------------------------------------------------------------- comparing
def _stored_fields(product: Product, data: ValidatedProduct) -> bool:
    for name, value in data.fields.items():
        if name == "brand":
            brand = product.brand
            if value is None:
                if brand is not None:
                    return False
                continue
            if brand is None or brand.name.casefold() != value["name"].casefold():
                return False
            if value.get("description") is not None and value["description"] != brand.description:
                return False
            continue
        if getattr(product, name) != value:
            return False
    return True


def product_unchanged(product: Product | None, data: ValidatedProduct) -> bool:
    """True when storing `data` would change nothing the service holds (and the last sync did not fail).
    `product` comes with `brand`, `images` and `technical_data` prefetched."""
    if product is None or product.is_deleted or product.last_sync_status == SyncStatus.FAILED:
        return False
    if not _stored_fields(product, data):
        return False
    if data.images is not None:
        stored = [(i.file_name, i.blob_id) for i in product.images.all()]
        if stored != [(i.file_name, i.sha256) for i in data.images]:
            return False
    if data.technical_data is not None:
        stored_rows = list(product.technical_data.all())
        if len(stored_rows) != len(data.technical_data):
            return False
        for row, item in zip(stored_rows, data.technical_data, strict=True):
            if any(getattr(row, key) != value for key, value in item.items()):
                return False
    return True


def _products_by_reference(references: list[str]) -> dict[str, Product]:
    products = (
        Product.objects.filter(reference__in=references)
        .select_related("brand")
        .prefetch_related(
            Prefetch(
                "images", queryset=ProductImage.objects.order_by("position").only("product_id", "file_name", "blob_id")
            ),
            Prefetch("technical_data", queryset=TechnicalData.objects.order_by("position")),
        )
    )
    return {p.reference: p for p in products}


# ------------------------------------------------------------------------------------------ importing
def _validate(raw: object) -> ValidatedProduct:
    """The API's validation. The category check (the shop's list) comes later, for new or changed products
    only: an unchanged product's categories were checked when it was stored, and it costs no shop call."""
    if isinstance(raw, ExportFormatError):
        raise ValidationError({"non_field_errors": [str(raw)]})
    return product_validate(raw, check_categories=None)


def _unknown_categories(data: ValidatedProduct) -> list[dict[Any, Any]]:
    categories = data.fields.get("categories") or []
    unknown = shop_unknown_categories(categories) if categories else []
    return [detail("categories", f"Category {cid} does not exist in PrestaShop.") for cid in unknown]


def products_import(
    *,
    items: Iterable[tuple[int, int | None, object]],
    dry_run: bool = False,
    on_product: Callable[[ImportSummary], None] | None = None,
    on_invalid: Callable[[Invalid], None] | None = None,
    keep_errors: int = 1000,
) -> ImportSummary:
    summary = ImportSummary(dry_run=dry_run)
    chunk: list[tuple[ValidatedProduct, object, tuple[int, int | None]]] = []
    chunk_bytes = 0

    def flush() -> None:
        nonlocal chunk, chunk_bytes
        if not chunk:
            return
        stored = _products_by_reference([data.reference for data, _, _ in chunk])
        changed = []
        for data, raw, (position, line) in chunk:
            if product_unchanged(stored.get(data.reference), data):
                summary.unchanged += 1
                continue
            unknown = _unknown_categories(data)
            if unknown:  # the API's 422
                summary.valid -= 1
                _invalid(summary, position, line, raw, "Unknown category", unknown, on_invalid, keep_errors)
                continue
            changed.append((data, raw, position, line))
        if dry_run:
            summary.queued += len(changed)
        elif changed:
            # One transaction per chunk; the jobs are enqueued after it commits, a chunk per message.
            with transaction.atomic():
                job_ids = []
                for data, raw, position, line in changed:
                    try:
                        job = job_intake_product(data=data, payload=raw, source=SyncSource.IMPORT, converge=True)
                    except ApplicationError as exc:
                        summary.valid -= 1
                        _invalid(summary, position, line, raw, exc.error, exc.details, on_invalid, keep_errors)
                        continue
                    job_ids.append(job.pk)
                    if len(summary.sync_ids) < 10:
                        summary.sync_ids.append(job.sync_id)
                jobs_enqueue_in_chunks(job_ids)
                summary.queued += len(job_ids)
        chunk = []
        chunk_bytes = 0

    for position, line, raw in items:
        summary.read += 1
        try:
            data = _validate(raw)
        except ValidationError as exc:
            _invalid(
                summary, position, line, raw, "Validation failed", flatten_errors(exc.detail), on_invalid, keep_errors
            )
        except ApplicationError as exc:
            _invalid(summary, position, line, raw, exc.error, exc.details, on_invalid, keep_errors)
        else:
            summary.valid += 1
            chunk.append((data, raw, (position, line)))
            chunk_bytes += sum(len(i.content) for i in data.images or [])
            if len(chunk) >= CHUNK_PRODUCTS or chunk_bytes >= CHUNK_BYTES:
                flush()
        if on_product is not None:
            on_product(summary)
    flush()
    logger.info(
        "Import%s: %d read, %d valid, %d invalid, %d %s, %d unchanged",
        " (dry run)" if dry_run else "",
        summary.read,
        summary.valid,
        summary.invalid,
        summary.queued,
        "would be queued" if dry_run else "queued",
        summary.unchanged,
    )
    return summary


def _invalid(summary, position, line, raw, error, details, on_invalid, keep_errors) -> None:
    summary.invalid += 1
    reference = raw.get("reference") if isinstance(raw, dict) and isinstance(raw.get("reference"), str) else None
    item = Invalid(position=position, line=line, reference=reference, error=error, details=list(details))
    if len(summary.errors) < keep_errors:
        summary.errors.append(item)
    if on_invalid is not None:
        on_invalid(item)
