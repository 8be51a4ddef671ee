"""Back-office for what the ERP sent: products (with their images and technical data) and brands.

Product data belongs to the ERP, so it is shown, not edited here; staff fix a product by syncing it
again ("sync to shop now", "force resync", "send to Productsup"), which needs `catalog.change_product`
(the one permission model of `config.admin.permissions`).
"""

from __future__ import annotations

import io
import logging
from decimal import Decimal

from django.conf import settings
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from PIL import Image

from catalog.models import Brand, ImageBlob, Product, ProductImage, TechnicalData
from config.admin.actions import ObjectActionsAdminMixin, object_action
from config.admin.display import (
    ADMIN_MEDIA,
    admin_change_link,
    duration_display,
    first_line,
    image_thumbnail,
    status_badge,
    thumbnails,
)
from config.admin.permissions import OperateMixin, ReadOnlyAdminMixin
from exports.services import productsup_product_changed
from syncjobs.models import SyncJob
from syncjobs.services.manual import products_sync_request

logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
}
THUMBNAIL_PIXELS = 240  # twice the displayed size, sharp on high-density screens
THUMBNAIL_CACHE_SECONDS = 24 * 3600


def _thumbnail(blob: ImageBlob) -> tuple[bytes, str]:
    """A small rendition of the image (cached by hash); the original when Pillow cannot read it."""
    key = f"admin-thumb:{THUMBNAIL_PIXELS}:{blob.sha256}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    content = bytes(blob.content)
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA")
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
        result = (out.getvalue(), "image/png")
    except Exception:
        logger.warning("Could not make a thumbnail of image %s", blob.sha256, exc_info=True)
        result = (content, CONTENT_TYPES.get(blob.format, "application/octet-stream"))
    cache.set(key, result, THUMBNAIL_CACHE_SECONDS)
    return result


def price_text(price) -> str:
    """19.900000 → 19.90; more decimals only when they matter (prices are tax-excluded decimals)."""
    if price is None:
        return "—"
    cents = price.quantize(Decimal("0.01"))
    return f"{cents}" if cents == price else f"{price.normalize():f}"


def image_figure(image: ProductImage):
    return image_thumbnail(
        sha256=image.blob_id,
        file_name=image.file_name,
        size=image.blob.size,
        fmt=image.blob.format,
        width=image.blob.width,
        height=image.blob.height,
        position=image.position + 1,
        note=f"shop image #{image.presta_image_id}" if image.presta_image_id else "not in the shop yet",
    )


class ProductStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("active", "Active"), ("inactive", "Inactive"), ("deleted", "Deleted"))

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(is_deleted=False, active=True)
        if self.value() == "inactive":
            return queryset.filter(is_deleted=False, active=False)
        if self.value() == "deleted":
            return queryset.filter(is_deleted=True)
        return queryset


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    max_num = 0  # records: no "add another" row
    can_delete = False
    show_change_link = False


class TechnicalDataInline(ReadOnlyInline):
    model = TechnicalData
    fields = ("print_order", "gruppo", "descrizione", "valore", "suffisso")
    readonly_fields = fields


@admin.register(Product)
class ProductAdmin(ObjectActionsAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    # Reference, name and status first: they show at 1280 px with the navigation sidebar and filters open.
    list_display = ("reference", "name", "state_badge", "brand", "price_display", "quantity", "presta_id")
    list_display_links = ("reference", "name")
    list_filter = (ProductStateFilter, "last_sync_status", "is_deleted")
    list_select_related = ("brand",)
    search_fields = ("=reference", "reference", "name", "=ean13")
    search_help_text = "Search by reference, name or EAN13."
    list_per_page = 50
    show_full_result_count = False
    actions = ["sync_now", "force_resync", "send_to_productsup"]
    change_actions = ["sync_now_button", "force_resync_button", "send_to_productsup_button"]
    inlines = [TechnicalDataInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "name",
                    "state_badge",
                    "brand",
                    "price_display",
                    "quantity",
                    "active",
                    "ean13",
                    "weight",
                    "categories",
                    "description",
                )
            },
        ),
        ("Images (in order)", {"fields": ("gallery",)}),
        ("Shop", {"fields": ("presta_id", "sync_status", "last_synced_at", "recent_jobs", "is_deleted", "deleted_at")}),
        (
            "Bookkeeping",
            {"classes": ("collapse",), "fields": ("version", "productsup_dirty_at", "created_at", "updated_at")},
        ),
    )
    readonly_fields = (
        "reference",
        "name",
        "state_badge",
        "brand",
        "price_display",
        "gallery",
        "quantity",
        "active",
        "ean13",
        "weight",
        "categories",
        "description",
        "presta_id",
        "sync_status",
        "last_synced_at",
        "recent_jobs",
        "is_deleted",
        "deleted_at",
        "version",
        "productsup_dirty_at",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name and match.url_name.endswith("_changelist"):
            qs = qs.defer("description", "shop_state")
        return qs

    def get_urls(self):
        return [
            path("image/<str:sha256>/", self.admin_site.admin_view(self.image_view), name="catalog_product_image"),
            *super().get_urls(),
        ]

    # --- views -----------------------------------------------------------------------------------

    def image_view(self, request, sha256: str):
        """The bytes of one stored image (or a thumbnail with ?thumb=1), to staff who may view products."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        blob = ImageBlob.objects.filter(pk=sha256).first()
        if blob is None:
            raise Http404("No such image")
        if request.GET.get("thumb"):
            content, content_type = _thumbnail(blob)
        else:
            content, content_type = bytes(blob.content), CONTENT_TYPES.get(blob.format, "application/octet-stream")
        response = HttpResponse(content, content_type=content_type)
        response["Cache-Control"] = "private, max-age=86400, immutable"  # content-addressed: never changes
        response["Content-Disposition"] = "inline"
        return response

    # --- actions (list) and buttons (product page) -----------------------------------------------

    def _sync(self, request, queryset, *, force: bool):
        jobs = products_sync_request(products=queryset, user=request.user, force=force)
        if len(jobs) == 1:
            job = jobs[0]
            self.message_user(
                request,
                format_html(
                    "{} queued for {}: {}.",
                    "Forced resync" if force else "Sync",
                    job.reference,
                    admin_change_link("syncjobs", "syncjob", job.pk, job.sync_id),
                ),
                messages.SUCCESS,
            )
        else:
            url = reverse("admin:syncjobs_syncjob_changelist") + "?source__exact=admin"
            self.message_user(
                request,
                format_html('{} products queued (<a href="{}">see the jobs</a>).', len(jobs), url),
                messages.SUCCESS,
            )

    def _productsup(self, request, queryset):
        if not settings.PRODUCTSUP_ENABLED:
            self.message_user(
                request, "The Productsup export is switched off (PRODUCTSUP_ENABLED=0).", messages.WARNING
            )
            return
        ids = list(queryset.values_list("pk", flat=True))
        productsup_product_changed(product_ids=ids)
        self.message_user(
            request,
            f"{len(ids)} product{'s' if len(ids) != 1 else ''} marked for the next Productsup delta batch.",
            messages.SUCCESS,
        )

    @admin.action(description="Sync to shop now", permissions=["operate"])
    def sync_now(self, request, queryset):
        self._sync(request, queryset, force=False)

    @admin.action(description="Force resync (push every part, even unchanged)", permissions=["operate"])
    def force_resync(self, request, queryset):
        self._sync(request, queryset, force=True)

    @admin.action(description="Send to Productsup", permissions=["operate"])
    def send_to_productsup(self, request, queryset):
        self._productsup(request, queryset)

    @object_action(label="Sync to shop now", description="Make the shop show this product as stored here")
    def sync_now_button(self, request, obj):
        self._sync(request, Product.objects.filter(pk=obj.pk), force=False)

    @object_action(label="Force resync", description="Push every part, even unchanged", css_class="ps-warn")
    def force_resync_button(self, request, obj):
        self._sync(request, Product.objects.filter(pk=obj.pk), force=True)

    @object_action(label="Send to Productsup", description="Mark it for the next Productsup delta batch")
    def send_to_productsup_button(self, request, obj):
        self._productsup(request, Product.objects.filter(pk=obj.pk))

    # --- columns and fields ----------------------------------------------------------------------

    @admin.display(description="price", ordering="price")
    def price_display(self, obj):
        return price_text(obj.price)

    @admin.display(description="status", ordering="last_sync_status")
    def state_badge(self, obj):
        """Deleted products say so; the others show their last sync's outcome, and "inactive" if so."""
        if obj.is_deleted:
            return status_badge("deleted", "Deleted")
        badge = status_badge(obj.last_sync_status, obj.last_sync_status.capitalize()) if obj.last_sync_status else "—"
        if not obj.active:
            return format_html('{} <span class="ps-quiet">inactive</span>', badge)
        return badge

    @admin.display(description="images")
    def gallery(self, obj):
        images = list(
            ProductImage.objects.filter(product=obj).select_related("blob").defer("blob__content").order_by("position")
        )
        return thumbnails(image_figure(image) for image in images)

    @admin.display(description="last sync", ordering="last_sync_status")
    def sync_status(self, obj):
        return status_badge(obj.last_sync_status)

    @admin.display(description="recent sync jobs")
    def recent_jobs(self, obj):
        jobs = list(
            SyncJob.objects.filter(product=obj)
            .only("pk", "sync_id", "status", "operation", "source", "created_at", "duration_ms", "error")
            .order_by("-created_at", "-id")[:10]
        )
        if not jobs:
            return "—"
        rows = [
            {
                "link": admin_change_link("syncjobs", "syncjob", job.pk, job.sync_id),
                "badge": status_badge(job.status, job.get_status_display()),
                "job": job,
                "duration": duration_display(job.duration_ms),
                "error": first_line(job.error, 120),
            }
            for job in jobs
        ]
        more = reverse("admin:syncjobs_syncjob_changelist") + f"?q={obj.reference}"
        return render_to_string(
            "admin/products_sync/recent_jobs.html", {"rows": rows, "more": more, "reference": obj.reference}
        )


@admin.register(Brand)
class BrandAdmin(OperateMixin, admin.ModelAdmin):
    """The ERP's brands; the shop manufacturer id is staff's to fix (change permission: operators)."""

    Media = ADMIN_MEDIA
    list_display = ("name", "presta_manufacturer_id", "product_count", "updated_at")
    search_fields = ("name",)
    fields = ("name", "description", "presta_manufacturer_id", "created_at", "updated_at")
    readonly_fields = ("name", "description", "created_at", "updated_at")  # the ERP's; the shop id is staff's to fix
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="products", ordering="_product_count")
    def product_count(self, obj):
        return obj._product_count
