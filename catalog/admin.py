"""Back-office for what the ERP sent: products (with their images and technical data) and brands.

Product data belongs to the ERP, so it is shown, not edited here; staff fix a product by syncing it
again ("sync to shop now", "force resync", "send to Productsup"), which needs the operate permission
(`syncjobs.change_syncjob`, see syncjobs.admin).
"""

from __future__ import annotations

import io
import logging
from decimal import Decimal

from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog.models import Brand, ImageBlob, Product, ProductImage, TechnicalData
from config.admin_mixins import ReadOnlyAdminMixin
from syncjobs.admin import admin_change_link, can_operate, duration_display, image_thumbnail, status_badge
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
        from PIL import Image

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
    figure = image_thumbnail(
        sha256=image.blob_id,
        file_name=image.file_name,
        size=image.blob.size,
        fmt=image.blob.format,
        width=image.blob.width,
        height=image.blob.height,
        position=image.position + 1,
    )
    shop = f"shop image #{image.presta_image_id}" if image.presta_image_id else "not in the shop yet"
    return format_html(
        '<div style="display:inline-block;vertical-align:top">{}<div style="font-size:11px;'
        'color:var(--body-quiet-color,#777);margin:-8px 0 12px">{}</div></div>',
        figure,
        shop,
    )


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class TechnicalDataInline(ReadOnlyInline):
    model = TechnicalData
    fields = ("print_order", "gruppo", "descrizione", "valore", "suffisso")
    readonly_fields = fields


@admin.register(Product)
class ProductAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("reference", "name", "brand", "price_display", "quantity", "active", "presta_id", "sync_status")
    list_display_links = ("reference", "name")
    list_filter = ("active", "last_sync_status", "is_deleted")
    list_select_related = ("brand",)
    search_fields = ("=reference", "reference", "name", "=ean13")
    search_help_text = "Search by reference, name or EAN13."
    list_per_page = 50
    show_full_result_count = False
    actions = ["sync_now", "force_resync", "send_to_productsup"]
    inlines = [TechnicalDataInline]
    change_form_template = "admin/catalog/product/change_form.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "name",
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

    def has_operate_permission(self, request):
        return can_operate(request.user)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name and match.url_name.endswith("_changelist"):
            qs = qs.defer("description", "shop_state")
        return qs

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("image/<str:sha256>/", self.admin_site.admin_view(self.image_view), name=f"{prefix}_image"),
            path("<int:pk>/sync/", self.admin_site.admin_view(self.sync_view), name=f"{prefix}_sync"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_operate": can_operate(request.user)}
        return super().change_view(request, object_id, form_url, extra_context)

    # --- views -----------------------------------------------------------------------------------

    def image_view(self, request, sha256: str):
        """The bytes of one stored image (or a thumbnail with ?thumb=1), to staff only."""
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

    def sync_view(self, request, pk: int):
        """The product page's buttons: sync now, force resync, send to Productsup."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not can_operate(request.user):
            raise PermissionDenied
        product = get_object_or_404(Product, pk=pk)
        mode = request.POST.get("mode", "sync")
        queryset = Product.objects.filter(pk=product.pk)
        if mode == "productsup":
            self.send_to_productsup(request, queryset)
        else:
            self._sync(request, queryset, force=mode == "force")
        return HttpResponseRedirect(reverse("admin:catalog_product_change", args=[product.pk]))

    # --- actions ---------------------------------------------------------------------------------

    def _sync(self, request, queryset, *, force: bool):
        jobs = products_sync_request(products=queryset, user=request.user, force=force)
        if len(jobs) == 1:
            job = jobs[0]
            url = reverse("admin:syncjobs_syncjob_change", args=[job.pk])
            self.message_user(
                request,
                format_html(
                    '{} queued for {}: <a href="{}">{}</a>.',
                    "Forced resync" if force else "Sync",
                    job.reference,
                    url,
                    job.sync_id,
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

    @admin.action(description="Sync to shop now", permissions=["operate"])
    def sync_now(self, request, queryset):
        self._sync(request, queryset, force=False)

    @admin.action(description="Force resync (push every part, even unchanged)", permissions=["operate"])
    def force_resync(self, request, queryset):
        self._sync(request, queryset, force=True)

    @admin.action(description="Send to Productsup", permissions=["operate"])
    def send_to_productsup(self, request, queryset):
        try:
            from exports.services import productsup_product_changed
        except ImportError:
            self.message_user(request, "The Productsup export is not installed.", messages.ERROR)
            return
        ids = list(queryset.values_list("pk", flat=True))
        productsup_product_changed(product_ids=ids)
        self.message_user(
            request,
            f"{len(ids)} product{'s' if len(ids) != 1 else ''} marked for the next Productsup delta batch.",
            messages.SUCCESS,
        )

    # --- columns and fields ----------------------------------------------------------------------

    @admin.display(description="price", ordering="price")
    def price_display(self, obj):
        return price_text(obj.price)

    @admin.display(description="images")
    def gallery(self, obj):
        images = list(
            ProductImage.objects.filter(product=obj).select_related("blob").defer("blob__content").order_by("position")
        )
        if not images:
            return "—"
        return format_html("<div>{}</div>", format_html_join("", "{}", ((image_figure(image),) for image in images)))

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
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style="color:#c62828">{}</td></tr>',
            (
                (
                    admin_change_link("syncjobs", "syncjob", job.pk, job.sync_id),
                    status_badge(job.status, job.get_status_display()),
                    job.operation,
                    job.source,
                    job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    duration_display(job.duration_ms),
                    (job.error.strip().splitlines() or [""])[0][:120],
                )
                for job in jobs
            ),
        )
        more = reverse("admin:syncjobs_syncjob_changelist") + f"?q={obj.reference}"
        return format_html(
            '<table style="margin:0"><thead><tr><th>sync id</th><th>status</th><th>operation</th><th>source</th>'
            "<th>created</th><th>duration</th><th>error</th></tr></thead><tbody>{}</tbody></table>"
            '<p style="margin:6px 0 0"><a href="{}">All jobs of {}</a></p>',
            rows,
            more,
            obj.reference,
        )


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
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
