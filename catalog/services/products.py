"""Writes to the local catalogue: what the ERP sent is stored before anything is pushed anywhere."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.models import Brand, ImageBlob, Product, ProductImage, TechnicalData
from catalog.validation import DecodedImage, ValidatedProduct

# Optional fields and their values on `create` when the ERP leaves them out (docs/api.md, Product object).
CREATE_DEFAULTS = {
    "description": "",
    "active": True,
    "categories": [],
    "ean13": "",
    "weight": None,
}


def brand_get_or_create(*, name: str, description: str | None = None) -> Brand:
    brand = Brand.objects.filter(name__iexact=name).first()
    if brand is None:
        brand, _ = Brand.objects.get_or_create(name=name, defaults={"description": description or ""})
    elif description is not None and brand.description != description:
        brand.description = description
        brand.save(update_fields=["description", "updated_at"])
    return brand


def image_blobs_store(*, images: list[DecodedImage]) -> None:
    if not images:
        return
    existing = set(ImageBlob.objects.filter(sha256__in=[i.sha256 for i in images]).values_list("sha256", flat=True))
    new = {}
    for image in images:
        if image.sha256 not in existing and image.sha256 not in new:
            new[image.sha256] = ImageBlob(
                sha256=image.sha256,
                content=image.content,
                size=len(image.content),
                format=image.format,
                width=image.width,
                height=image.height,
            )
    ImageBlob.objects.bulk_create(new.values(), ignore_conflicts=True)


def product_images_replace(*, product: Product, images: list[DecodedImage]) -> None:
    """Set the product's images in order, keeping the shop image id of images whose bytes are unchanged."""
    image_blobs_store(images=images)
    shop_ids = dict(product.images.values_list("blob_id", "presta_image_id"))
    product.images.all().delete()
    ProductImage.objects.bulk_create(
        ProductImage(
            product=product,
            position=index,
            file_name=image.file_name,
            blob_id=image.sha256,
            presta_image_id=shop_ids.get(image.sha256),
        )
        for index, image in enumerate(images)
    )


def product_technical_data_replace(*, product: Product, items: list[dict[Any, Any]]) -> None:
    product.technical_data.all().delete()
    TechnicalData.objects.bulk_create(
        TechnicalData(product=product, position=index, **item) for index, item in enumerate(items)
    )


@transaction.atomic(savepoint=False)
def product_upsert(*, data: ValidatedProduct, product: Product | None) -> Product:
    """Create the product, or apply an update to it (absent optional fields keep their stored values;
    an empty list clears). A deleted product is brought back. Bumps `version` on every call."""
    fields = dict(data.fields)
    brand_data = fields.pop("brand", None) if "brand" in data.present else None
    creating = product is None or product.is_deleted
    if creating:
        values = {**CREATE_DEFAULTS, **fields}
    else:
        values = fields
    if product is None:
        product = Product(reference=data.reference)
    for name, value in values.items():
        setattr(product, name, value)
    if "brand" in data.present or creating:
        unchanged = (
            brand_data
            and product.brand is not None
            and product.brand.name.casefold() == brand_data["name"].casefold()
            and brand_data.get("description") in (None, product.brand.description)
        )
        if not unchanged:
            product.brand = brand_get_or_create(**brand_data) if brand_data else None
    if product.is_deleted:
        product.is_deleted = False
        product.deleted_at = None
    new_row = product.pk is None
    if not new_row:
        product.version += 1  # the caller holds the row lock (select_for_update)
    product.save()

    # A new row has no images or technical data to replace: only insert.
    if data.images is not None or creating:
        if new_row:
            image_blobs_store(images=data.images or [])
            ProductImage.objects.bulk_create(
                ProductImage(product=product, position=i, file_name=img.file_name, blob_id=img.sha256)
                for i, img in enumerate(data.images or [])
            )
        else:
            product_images_replace(product=product, images=data.images or [])
    if data.technical_data is not None or creating:
        if new_row:
            TechnicalData.objects.bulk_create(
                TechnicalData(product=product, position=i, **item) for i, item in enumerate(data.technical_data or [])
            )
        else:
            product_technical_data_replace(product=product, items=data.technical_data or [])
    return product


@transaction.atomic(savepoint=False)
def product_mark_deleted(*, product: Product) -> Product:
    """Mark deleted (the record is kept). The caller holds the row lock."""
    product.is_deleted = True
    product.deleted_at = timezone.now()
    product.version += 1
    product.save(update_fields=["is_deleted", "deleted_at", "version", "updated_at"])
    return product
