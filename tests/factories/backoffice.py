"""Rows the back-office shows: products with images and technical data, jobs with attempts (made with the ORM)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import ImageBlob, ProductImage, TechnicalData
from syncjobs.models import SyncAttempt, SyncJob
from tests.factories.catalog import BrandFactory, ProductFactory
from tests.factories.images import image_bytes


def make_blob(color=(200, 30, 30), size=(64, 48), fmt="PNG") -> ImageBlob:
    content = image_bytes(fmt, size, color)
    sha = hashlib.sha256(content).hexdigest()
    blob, _ = ImageBlob.objects.get_or_create(
        sha256=sha,
        defaults={"content": content, "size": len(content), "format": fmt.lower(), "width": size[0], "height": size[1]},
    )
    return blob


def make_product(*, images: int = 2, technical: int = 2, **fields):
    product = ProductFactory(brand=fields.pop("brand", None) or BrandFactory(), **fields)
    for position in range(images):
        blob = make_blob(color=(40 * position % 255, 120, 200 - 30 * position))
        ProductImage.objects.create(product=product, position=position, file_name=f"photo-{position}.png", blob=blob)
    for position in range(technical):
        TechnicalData.objects.create(
            product=product,
            position=position,
            gruppo="Power",
            descrizione=f"Spec {position}",
            valore=str(1000 + position),
            suffisso="W",
            print_order=position,
        )
    return product


def make_job(
    *,
    product=None,
    status="failed",
    error="PrestaShop answered 503 Service Unavailable\nmore lines",
    attempts: int = 1,
    source="api",
    operation="update",
    payload=None,
    **fields,
) -> SyncJob:
    product = product or make_product(images=0, technical=0)
    now = timezone.now()
    job = SyncJob.objects.create(
        reference=product.reference,
        product=product,
        operation=operation,
        source=source,
        status=status,
        error=error if status in ("failed", "partial") else "",
        attempts=attempts,
        started_at=now - timedelta(seconds=3),
        completed_at=now if status != "pending" else None,
        duration_ms=1234 if status != "pending" else None,
        payload=payload if payload is not None else {"reference": product.reference, "name": product.name},
        error_details=[{"status": 503, "body": "<html>down</html>"}] if status == "failed" else [],
        **fields,
    )
    for number in range(1, attempts + 1):
        SyncAttempt.objects.create(
            job=job,
            number=number,
            trigger="request",
            outcome="failed" if status == "failed" else "succeeded",
            started_at=now,
            finished_at=now,
            duration_ms=100,
            calls=2,
            error=job.error,
            remote={"status": 503, "body": "Service Unavailable"} if status == "failed" else {},
        )
    return job


def action_url(prefix: str, tool: str, pk=None) -> str:
    """The URL of an object button (`prefix` like "syncjobs_syncjob"): a change-page one with `pk`."""
    kwargs = {"tool": tool} if pk is None else {"pk": pk, "tool": tool}
    return reverse(f"admin:{prefix}_actions", kwargs=kwargs)


class CsrfSession:
    """A browser-like session: CSRF enforced, the token taken from a page the user was shown."""

    def __init__(self, user):
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(user)
        page = self.client.get(reverse("admin:index"))
        assert page.status_code == 200
        self.token = self.client.cookies["csrftoken"].value

    def get(self, url, data=None):
        return self.client.get(url, data)

    def post(self, url, data=None):
        response = self.client.post(url, {**(data or {}), "csrfmiddlewaretoken": self.token})
        assert b"CSRF verification failed" not in response.content
        return response
