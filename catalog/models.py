"""What the ERP told us: products, brands, images, technical data — stored before anything is pushed.

Image bytes live once per content hash (`ImageBlob`), so a job's stored payload can reference an image
by hash instead of carrying megabytes of base64, and unchanged images are recognised by hash.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower


class Brand(models.Model):
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    presta_manufacturer_id = models.PositiveIntegerField(
        null=True, blank=True, help_text="Manufacturer id in PrestaShop"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="brand_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    reference = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    price = models.DecimalField(max_digits=20, decimal_places=6)
    quantity = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    categories = models.JSONField(default=list, blank=True, help_text="PrestaShop category ids; first = default")
    ean13 = models.CharField(max_length=13, blank=True, default="")
    weight = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True, help_text="kg")
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")

    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)

    # What we know of the shop's copy (owned by the PrestaShop connector's ShopSync).
    presta_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    shop_state = models.JSONField(default=dict, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(max_length=16, blank=True, default="")

    # Bumped on every change the ERP sends; jobs record the version they were created for.
    version = models.PositiveIntegerField(default=1)
    # Productsup: set when the row must be (re)sent; cleared when a batch containing it commits.
    productsup_dirty_at = models.DateTimeField(null=True, blank=True, db_index=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.name}"


class ImageBlob(models.Model):
    """Image bytes, stored once per SHA-256 of what the ERP sent."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    content = models.BinaryField()
    size = models.PositiveIntegerField()
    format = models.CharField(max_length=8)  # jpeg, png, gif, webp
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.format} {self.width}×{self.height})"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField()
    file_name = models.CharField(max_length=255)
    blob = models.ForeignKey(ImageBlob, on_delete=models.PROTECT, related_name="+")
    presta_image_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["product", "position"]
        constraints = [models.UniqueConstraint(fields=["product", "position"], name="product_image_position_unique")]

    def __str__(self) -> str:
        return self.file_name


class TechnicalData(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="technical_data")
    position = models.PositiveSmallIntegerField(help_text="Order in which the ERP sent it")
    gruppo = models.CharField(max_length=255)
    descrizione = models.CharField(max_length=255)
    valore = models.CharField(max_length=255)
    suffisso = models.CharField(max_length=64, blank=True, default="")
    print_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["product", "print_order", "position"]
        verbose_name_plural = "technical data"

    def __str__(self) -> str:
        return f"{self.descrizione}: {self.valore}{' ' + self.suffisso if self.suffisso else ''}"


class ShopFeature(models.Model):
    """A PrestaShop product feature we found or created, remembered so it is never looked up twice."""

    name = models.CharField(max_length=255, unique=True)
    presta_id = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.name


class ShopFeatureValue(models.Model):
    feature = models.ForeignKey(ShopFeature, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=255)
    presta_id = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["feature", "value"], name="shop_feature_value_unique")]

    def __str__(self) -> str:
        return f"{self.feature.name}: {self.value}"
