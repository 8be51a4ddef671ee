"""Reads of the local catalogue."""

from __future__ import annotations

from catalog.models import Product


def product_get_by_reference(
    *, reference: str, for_update: bool = False, include_deleted: bool = True
) -> Product | None:
    qs = Product.objects.select_related("brand")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    if not include_deleted:
        qs = qs.filter(is_deleted=False)
    return qs.filter(reference=reference).first()


def product_ids_in_chunks(*, chunk_size: int = 500, include_deleted: bool = False):
    """Yield lists of product ids in pk order, `chunk_size` at a time (never loads the whole table)."""
    last = 0
    qs = Product.objects.order_by("pk")
    if not include_deleted:
        qs = qs.filter(is_deleted=False)
    while True:
        ids = list(qs.filter(pk__gt=last).values_list("pk", flat=True)[:chunk_size])
        if not ids:
            return
        yield ids
        last = ids[-1]
