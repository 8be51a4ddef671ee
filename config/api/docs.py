"""The API docs' assets that would otherwise reach another host (docs/api.md, Schema and Postman: the docs work offline).

Redoc's standalone bundle (from drf-spectacular-sidecar) draws the Redocly attribution logo from
cdn.redoc.ly; this serves the same bundle with that one image inlined as an empty SVG, so /api/redoc/
makes no request to any other host. Fonts are self-hosted in config/static/api_docs/fonts/.
"""

from __future__ import annotations

import functools
from pathlib import Path

import drf_spectacular_sidecar
from django.http import HttpResponse
from django.views.decorators.http import require_GET

REDOC_BUNDLE = (
    Path(drf_spectacular_sidecar.__file__).parent / "static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
)
REMOTE_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_SVG = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="


@functools.cache
def redoc_bundle() -> bytes:
    return REDOC_BUNDLE.read_text(encoding="utf-8").replace(REMOTE_LOGO, EMPTY_SVG).encode("utf-8")


@require_GET
def redoc_standalone_js(request):
    response = HttpResponse(redoc_bundle(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
