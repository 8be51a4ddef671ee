"""The display kit every admin page uses: status badges (one colour scheme for jobs, attempts, resyncs and
batches), durations, JSON, image thumbnails, change links, an error's first line.

Markup lives in templates (`templates/admin/products_sync/`), looks in one stylesheet
(`config/static/products_sync/admin.css`, loaded through `ADMIN_MEDIA`). Only one-element snippets are
built here, with `format_html`.
"""

from __future__ import annotations

import json

from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

STYLESHEET = "products_sync/admin.css"


class ADMIN_MEDIA:
    css = {"all": ("django_object_actions/css/django-object-actions.css", STYLESHEET)}


# Status → tone. Jobs, attempts, resyncs and Productsup batches share one scheme (the stylesheet colours tones).
TONES = {
    "completed": "ok",
    "succeeded": "ok",
    "committed": "ok",
    "partial": "warn",
    "failed": "bad",
    "processing": "busy",
    "running": "busy",
    "uploading": "busy",
    "pending": "idle",
    "discarded": "idle",
    "deleted": "gone",
}


def tone(status: str) -> str:
    return TONES.get(status or "", "idle")


def status_badge(status: str, label: str | None = None):
    if not status:
        return "—"
    return format_html(
        '<span class="ps-badge ps-tone-{} sync-badge-{}">{}</span>', tone(status), status, label or status
    )


def duration_display(ms: int | None) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def first_line(text: str, limit: int = 300) -> str:
    stripped = (text or "").strip()
    return stripped.splitlines()[0][:limit] if stripped else ""


def error_first_line(text: str):
    """An error's first line (clamped to two lines by the stylesheet), the whole error as the tooltip."""
    if not text:
        return ""
    return format_html('<span class="ps-error-line" title="{}">{}</span>', text[:1000], first_line(text))


def _shorten(value, key: str = ""):
    """A copy of a JSON value fit for reading: base64 and other very long strings are summarised."""
    if isinstance(value, dict):
        return {k: _shorten(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    if isinstance(value, str):
        if key.lower() == "base64" and len(value) > 80:
            return f"<{len(value):,} base64 characters omitted>"
        if len(value) > 2000:
            return f"{value[:500]}… <{len(value):,} characters in all>"
    return value


def pretty_json(value, *, tall: bool = False, key_order: tuple[str, ...] = ()):
    """JSON as JSON: numbers stay numbers, strings stay strings (what was stored is what is shown). A top-level
    object's keys come in `key_order` first (the database does not keep the order they were sent in)."""
    if value in (None, "", [], {}):
        return "—"
    if key_order and isinstance(value, dict):
        rank = {key: index for index, key in enumerate(key_order)}
        value = dict(sorted(value.items(), key=lambda item: rank.get(item[0], len(rank))))
    text = json.dumps(_shorten(value), indent=2, ensure_ascii=False, default=str)
    return render_to_string("admin/products_sync/json.html", {"text": text, "tall": tall})


def admin_url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def admin_change_link(app_label: str, model_name: str, pk, text):
    """A link to another record's admin page, or plain text if that admin is not there."""
    url = admin_url(f"admin:{app_label}_{model_name}_change", pk)
    if url is None:
        return format_html("{}", text)
    return format_html('<a href="{}">{}</a>', url, text)


def image_thumbnail(
    *,
    sha256: str,
    file_name: str = "",
    size: int | None = None,
    fmt: str = "",
    width: int | None = None,
    height: int | None = None,
    position: int | None = None,
    note: str = "",
):
    """One image as a thumbnail (served by a staff-only view, never inlined as base64) and its facts."""
    full = admin_url("admin:catalog_product_image", sha256)
    facts = " · ".join(
        part
        for part in (
            (fmt or "").upper(),
            f"{width}×{height}" if width and height else "",
            filesizeformat(size) if size is not None else "",
        )
        if part
    )
    return render_to_string(
        "admin/products_sync/thumbnail.html",
        {
            "full": full,
            "thumb": f"{full}?thumb=1" if full else None,
            "file_name": file_name,
            "caption": f"{position}. {file_name}" if position is not None else file_name,
            "facts": facts,
            "sha": sha256[:12],
            "note": note,
        },
    )


def thumbnails(figures) -> str:
    return render_to_string("admin/products_sync/thumbnails.html", {"figures": list(figures)})


def progress_bar(percent: int, status: str = ""):
    return render_to_string("admin/products_sync/progress.html", {"percent": percent, "tone": tone(status)})
