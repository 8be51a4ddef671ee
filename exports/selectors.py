"""Reads for Productsup exports: the products of an export as plain row sources, in pk-ordered chunks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from catalog.models import Product, ProductImage, TechnicalData
from connectors.productsup.rows import RowSource, spec_columns, spec_value
from syncjobs.services.adapters import PRODUCTSUP_FIELDS, productsup_row_source

EXPORT_CHUNK = 1000

_FIELDS = (*PRODUCTSUP_FIELDS, "productsup_dirty_at")


def products_dirty_exist() -> bool:
    return Product.objects.filter(productsup_dirty_at__isnull=False).exists()


def products_dirty_count(*, limit: int) -> int:
    """How many products wait for a delta, counted up to `limit` (cheap on the dirty_at index)."""
    return Product.objects.filter(productsup_dirty_at__isnull=False).order_by()[:limit].count()


def export_spec_columns() -> list[str]:
    """Every spec_ column of the catalogue: every row of every export carries all of them."""
    return spec_columns(TechnicalData.objects.order_by().values_list("descrizione", flat=True).distinct())


def export_sources(*, full: bool, chunk_size: int = EXPORT_CHUNK) -> Iterator[tuple[int, datetime | None, RowSource]]:
    """(product id, productsup_dirty_at, RowSource) for every product (full) or every changed one (delta).

    Keyset pagination by pk (no long-lived cursor, memory bounded by one chunk). The dirty timestamp
    is read in the same query as the row's values: it is what the batch may clear after committing.
    """
    base = Product.objects.all() if full else Product.objects.filter(productsup_dirty_at__isnull=False)
    last = 0
    while True:
        chunk = list(base.filter(pk__gt=last).order_by("pk").values(*_FIELDS)[:chunk_size])
        if not chunk:
            return
        ids = [row["pk"] for row in chunk]
        images: dict[int, list[int]] = defaultdict(list)
        for product_id, image_id in (
            ProductImage.objects.filter(product_id__in=ids, presta_image_id__isnull=False)
            .order_by("product_id", "position")
            .values_list("product_id", "presta_image_id")
        ):
            if image_id is not None:  # filtered above; says so to the type checker
                images[product_id].append(image_id)
        specs: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for product_id, descrizione, valore, suffisso in (
            TechnicalData.objects.filter(product_id__in=ids)
            .order_by("product_id", "print_order", "position")
            .values_list("product_id", "descrizione", "valore", "suffisso")
        ):
            specs[product_id].append((descrizione, spec_value(valore, suffisso)))
        for row in chunk:
            pk = row["pk"]
            yield (
                pk,
                row["productsup_dirty_at"],
                productsup_row_source(row, image_ids=images.get(pk, ()), specs=specs.get(pk, ())),
            )
        last = ids[-1]
