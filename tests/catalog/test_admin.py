"""Products and brands in the back-office: read what the ERP sent, see images, sync again."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from syncjobs.models import SyncJob
from tests.factories.backoffice import action_url, make_job, make_product

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:catalog_product_changelist")


def test_list_shows_shop_id_and_last_sync_status(viewer_client):
    product = make_product(images=0, presta_id=77, last_sync_status="failed")
    html = viewer_client.get(CHANGELIST).content.decode()
    assert product.reference in html and product.brand.name in html
    assert ">77<" in html and "sync-badge-failed" in html


def test_product_list_runs_a_constant_number_of_queries(viewer_client, django_assert_max_num_queries):
    for _ in range(2):
        make_product(images=1)
    with CaptureQueriesContext(connection) as ctx:
        viewer_client.get(CHANGELIST)
    few = len(ctx.captured_queries)
    for _ in range(30):
        make_product(images=1, technical=1)
    with django_assert_max_num_queries(few):
        response = viewer_client.get(CHANGELIST)
    assert response.status_code == 200


def test_brand_list_runs_a_constant_number_of_queries(viewer_client, django_assert_max_num_queries):
    make_product(images=0)
    with CaptureQueriesContext(connection) as ctx:
        viewer_client.get(reverse("admin:catalog_brand_changelist"))
    for _ in range(20):
        make_product(images=0)
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        html = viewer_client.get(reverse("admin:catalog_brand_changelist")).content.decode()
    assert "presta_manufacturer_id" in html or "Manufacturer id" in html or "manufacturer" in html.lower()


def test_detail_shows_images_in_order_as_thumbnails_and_technical_data(viewer_client):
    product = make_product(images=3, technical=2)
    job = make_job(product=product, status="failed")
    html = viewer_client.get(reverse("admin:catalog_product_change", args=[product.pk])).content.decode()
    positions = [html.index(f"photo-{i}.png") for i in range(3)]
    assert positions == sorted(positions)
    for image in product.images.all():
        assert reverse("admin:catalog_product_image", args=[image.blob_id]) + "?thumb=1" in html
    assert "base64" not in html
    assert "Spec 0" in html and "1000" in html
    assert job.sync_id in html  # recent jobs


def test_image_view_serves_the_bytes_and_a_thumbnail_to_staff_only(viewer_client):
    product = make_product(images=1)
    blob = product.images.get().blob
    url = reverse("admin:catalog_product_image", args=[blob.sha256])
    response = viewer_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content == bytes(blob.content)
    thumb = viewer_client.get(url + "?thumb=1")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/png"
    assert thumb.content.startswith(b"\x89PNG")
    assert viewer_client.get(reverse("admin:catalog_product_image", args=["0" * 64])).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_sync_now_and_force_resync_create_admin_jobs_by_that_user(
    operator_client, operator_user, django_capture_on_commit_callbacks
):
    product = make_product(images=0)
    with (
        mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        operator_client.post(CHANGELIST, {"action": "sync_now", "_selected_action": [product.pk]})
        operator_client.post(action_url("catalog_product", "force_resync_button", product.pk))
    jobs = list(SyncJob.objects.filter(product=product).order_by("pk"))
    assert [(j.source, j.operation, j.force, j.requested_by_id, j.product_version) for j in jobs] == [
        ("admin", "update", False, operator_user.pk, product.version),
        ("admin", "update", True, operator_user.pk, product.version),
    ]
    assert sorted(c.args[0][0] for c in apply_async.call_args_list) == [j.pk for j in jobs]


def test_send_to_productsup_marks_the_products(operator_client, settings):
    settings.PRODUCTSUP_ENABLED = True
    product = make_product(images=0)
    with mock.patch("catalog.admin.productsup_product_changed") as changed:
        response = operator_client.post(CHANGELIST, {"action": "send_to_productsup", "_selected_action": [product.pk]})
    assert response.status_code == 302
    changed.assert_called_once_with(product_ids=[product.pk])


def test_read_only_group_cannot_sync_products(viewer_client):
    product = make_product(images=1)
    html = viewer_client.get(CHANGELIST).content.decode()
    assert "sync_now" not in html and "send_to_productsup" not in html
    detail = viewer_client.get(reverse("admin:catalog_product_change", args=[product.pk])).content.decode()
    assert 'data-tool-name="sync_now_button"' not in detail
    assert (
        viewer_client.get(reverse("admin:catalog_product_image", args=[product.images.get().blob_id])).status_code
        == 200
    )
    assert viewer_client.post(action_url("catalog_product", "sync_now_button", product.pk)).status_code == 403
    assert not SyncJob.objects.filter(product=product).exists()


def test_product_sync_request_deletes_a_deleted_product(django_capture_on_commit_callbacks):
    from syncjobs.services.manual import product_sync_request

    product = make_product(images=0, is_deleted=True, presta_id=12)
    with (
        mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        job = product_sync_request(product=product, user=None, force=False)
        assert apply_async.call_count == 0  # only after commit
    assert len(callbacks) == 1 and apply_async.call_count == 1
    assert (job.operation, job.source, job.presta_id, job.status) == ("delete", "admin", 12, "pending")
