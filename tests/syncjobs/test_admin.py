"""Sync jobs in the back-office: find, understand, retry."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from syncjobs.models import SyncJob
from tests.factories.backoffice import action_url, make_blob, make_job, make_product

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:syncjobs_syncjob_changelist")


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_shows_badge_attempts_duration_and_first_error_line(viewer_client):
    job = make_job(status="failed", error="PrestaShop answered 503 Service Unavailable\nsecond line")
    make_job(status="completed")
    html = viewer_client.get(CHANGELIST).content.decode()
    assert job.sync_id in html
    assert "sync-badge-failed" in html and "sync-badge-completed" in html
    assert "PrestaShop answered 503 Service Unavailable" in html


def test_filters_by_status_operation_source_and_search(viewer_client):
    failed = make_job(status="failed", source="webhook", operation="create")
    done = make_job(status="completed", source="api")
    html = viewer_client.get(CHANGELIST, {"status__exact": "failed"}).content.decode()
    assert failed.sync_id in html and done.sync_id not in html
    html = viewer_client.get(CHANGELIST, {"source__exact": "api"}).content.decode()
    assert done.sync_id in html and failed.sync_id not in html
    html = viewer_client.get(CHANGELIST, {"operation__exact": "create"}).content.decode()
    assert failed.sync_id in html and done.sync_id not in html
    html = viewer_client.get(CHANGELIST, {"q": done.sync_id}).content.decode()
    assert done.sync_id in html and failed.sync_id not in html
    html = viewer_client.get(CHANGELIST, {"q": failed.reference}).content.decode()
    assert failed.sync_id in html and done.sync_id not in html
    assert viewer_client.get(CHANGELIST, {"created_at__gte": "2020-01-01 00:00:00+00:00"}).status_code == 200


def test_list_runs_a_constant_number_of_queries(viewer_client, django_assert_max_num_queries):
    for _ in range(3):
        make_job()
    few = _queries(viewer_client, CHANGELIST)
    for _ in range(40):
        make_job(status="completed")
    with django_assert_max_num_queries(few):
        viewer_client.get(CHANGELIST)
    with django_assert_max_num_queries(few):
        viewer_client.get(CHANGELIST, {"status__exact": "completed", "q": "REF"})


def test_detail_shows_error_attempts_remote_answer_and_payload_with_thumbnails(viewer_client):
    product = make_product(images=1)
    blob = make_blob(color=(1, 2, 3))
    payload = {
        "reference": product.reference,
        "name": product.name,
        "images": [
            {
                "fileName": "front.png",
                "sha256": blob.sha256,
                "size": blob.size,
                "format": "png",
                "width": 64,
                "height": 48,
            }
        ],
    }
    job = make_job(product=product, payload=payload, attempts=2)
    html = viewer_client.get(reverse("admin:syncjobs_syncjob_change", args=[job.pk])).content.decode()
    assert "PrestaShop answered 503 Service Unavailable" in html
    assert "Service Unavailable" in html and "HTTP 503" in html  # each attempt's remote answer
    assert reverse("admin:catalog_product_image", args=[blob.sha256]) + "?thumb=1" in html
    assert "64×48" in html and "front.png" in html
    assert '<pre class="ps-json' in html and "&quot;fileName&quot;: &quot;front.png&quot;" in html
    assert reverse("admin:catalog_product_change", args=[product.pk]) in html
    assert "base64" not in html


def test_base64_left_in_a_payload_is_summarised_not_shown(viewer_client):
    job = make_job(payload={"images": [{"fileName": "a.png", "base64": "A" * 5000}]})
    html = viewer_client.get(reverse("admin:syncjobs_syncjob_change", args=[job.pk])).content.decode()
    assert "A" * 200 not in html
    assert "5,000 base64 characters omitted" in html


def test_detail_links_the_webhook_delivery(viewer_client):
    from django.apps import apps

    try:
        Delivery = apps.get_model("webhooks", "WebhookDelivery")
    except LookupError:
        pytest.skip("webhooks app has no delivery model yet")
    job = make_job(source="webhook")
    delivery = Delivery.objects.create(
        body_sha256="0" * 64, body_size=10, status_code=200, sync_job=job, reference=job.reference, signature_valid=True
    )
    html = viewer_client.get(reverse("admin:syncjobs_syncjob_change", args=[job.pk])).content.decode()
    assert reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]) in html


def test_retry_selected_queues_a_new_admin_attempt_by_that_user(
    operator_client, operator_user, django_capture_on_commit_callbacks
):
    job = make_job(status="failed")
    with (
        mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = operator_client.post(CHANGELIST, {"action": "retry_selected", "_selected_action": [job.pk]})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "pending"
    apply_async.assert_called_once()
    assert apply_async.call_args.args == ((job.pk,),)
    assert apply_async.call_args.kwargs["kwargs"] == {"trigger": "admin", "user_id": operator_user.pk, "reopen": True}
    messages = [str(m) for m in response.wsgi_request._messages]
    assert "1 job queued for a new attempt." in messages


def test_retry_button_on_the_detail_page(operator_client, django_capture_on_commit_callbacks):
    job = make_job(status="failed")
    detail = operator_client.get(reverse("admin:syncjobs_syncjob_change", args=[job.pk])).content.decode()
    assert 'data-tool-name="retry_job"' in detail
    with (
        mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = operator_client.post(action_url("syncjobs_syncjob", "retry_job", job.pk))
    assert response.status_code == 302
    assert apply_async.call_count == 1


def test_retry_all_failed_in_the_filter(operator_client, django_capture_on_commit_callbacks):
    webhook_failed = [make_job(status="failed", source="webhook") for _ in range(3)]
    api_failed = make_job(status="failed", source="api")
    done = make_job(status="completed", source="webhook")
    url = action_url("syncjobs_syncjob", "retry_failed_in_filter") + "?_changelist_filters=source__exact%3Dwebhook"
    with (
        mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = operator_client.post(url)
    assert response.status_code == 302 and response["Location"].endswith("?source__exact=webhook")
    retried = sorted(call.args[0][0] for call in apply_async.call_args_list)
    assert retried == sorted(j.pk for j in webhook_failed)
    assert SyncJob.objects.get(pk=api_failed.pk).status == "failed"
    assert SyncJob.objects.get(pk=done.pk).status == "completed"


def test_a_running_job_is_not_retried(operator_client):
    job = make_job(status="processing")
    with mock.patch("syncjobs.tasks.sync_job_task.apply_async"):
        response = operator_client.post(CHANGELIST, {"action": "retry_selected", "_selected_action": [job.pk]})
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("running right now" in m for m in messages)


def test_read_only_group_can_look_but_not_retry(viewer_client):
    job = make_job(status="failed")
    listing = viewer_client.get(CHANGELIST)
    assert listing.status_code == 200
    html = listing.content.decode()
    assert job.sync_id in html
    assert "retry_selected" not in html and 'data-tool-name="retry_failed_in_filter"' not in html
    detail = viewer_client.get(reverse("admin:syncjobs_syncjob_change", args=[job.pk]))
    assert detail.status_code == 200 and 'data-tool-name="retry_job"' not in detail.content.decode()
    with mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async:
        assert viewer_client.post(action_url("syncjobs_syncjob", "retry_job", job.pk)).status_code == 403
        assert viewer_client.post(action_url("syncjobs_syncjob", "retry_failed_in_filter")).status_code == 403
        viewer_client.post(CHANGELIST, {"action": "retry_selected", "_selected_action": [job.pk]})
    apply_async.assert_not_called()
    assert SyncJob.objects.get(pk=job.pk).status == "failed"


def test_jobs_cannot_be_added_edited_or_deleted(viewer_client):
    job = make_job()
    assert viewer_client.get(reverse("admin:syncjobs_syncjob_add")).status_code == 403
    assert (
        viewer_client.post(reverse("admin:syncjobs_syncjob_delete", args=[job.pk]), {"post": "yes"}).status_code == 403
    )
    assert SyncJob.objects.filter(pk=job.pk).exists()


def test_only_staff_log_in(client, django_user_model):
    user = django_user_model.objects.create_user(username="erp-api", password="erp-pass-123")
    client.force_login(user)
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_payload_as_received_shows_the_erps_numbers_as_numbers(api_client, viewer_client, sandbox_shop):
    from tests.factories.catalog import product_payload

    response = api_client.post_json(
        "/api/products/sync", product_payload(reference="NUM1", price=1199.99, weight=2.5, categories=[2])
    )
    assert response.status_code == 200, response.content
    job = SyncJob.objects.get(reference="NUM1")
    html = viewer_client.get(reverse("admin:syncjobs_syncjob_change", args=[job.pk])).content.decode()
    assert "&quot;price&quot;: 1199.99," in html and "&quot;weight&quot;: 2.5," in html


def test_retry_is_offered_only_where_it_can_help(operator_client):
    done = make_job(status="completed")
    refused = make_job(status="failed")
    SyncJob.objects.filter(pk=refused.pk).update(
        error="PrestaShop refused the product: invalid reference",
        error_details=[{"system": "PrestaShop", "status": 400, "retryable": False, "message": "invalid reference"}],
    )
    down = make_job(status="failed")
    SyncJob.objects.filter(pk=down.pk).update(
        error_details=[{"system": "PrestaShop", "status": 503, "retryable": True, "message": "Service Unavailable"}]
    )
    page = {
        job.pk: operator_client.get(reverse("admin:syncjobs_syncjob_change", args=[job.pk])).content.decode()
        for job in (done, refused, down)
    }
    assert 'data-tool-name="retry_job"' in page[down.pk]
    assert 'data-tool-name="retry_job"' not in page[done.pk] and "nothing to retry" in page[done.pk]
    assert 'data-tool-name="retry_job"' not in page[refused.pk]
    assert "PrestaShop refuses this product (HTTP 400): invalid reference" in page[refused.pk]
    assert "fix it in the ERP" in page[refused.pk]
    # Posted anyway (or selected in the list): refused with the reason, nothing queued.
    response = operator_client.post(action_url("syncjobs_syncjob", "retry_job", refused.pk), follow=True)
    assert any("not retried" in str(m) and "fix it in the ERP" in str(m) for m in response.context["messages"])
    assert SyncJob.objects.get(pk=refused.pk).status == "failed"
    response = operator_client.post(CHANGELIST, {"action": "retry_selected", "_selected_action": [done.pk]})
    assert SyncJob.objects.get(pk=done.pk).status == "completed"


def test_a_product_the_shop_refuses_is_not_offered_a_retry_but_told_what_to_fix(
    api_client, operator_client, sandbox_shop
):
    from tests.factories.catalog import product_payload

    sandbox_shop.fail_next(
        50,
        status=400,
        body="<prestashop><errors><error><code><![CDATA[46]]></code>"
        "<message><![CDATA[Property Product->reference is not valid]]></message></error></errors></prestashop>",
    )
    response = api_client.post_json("/api/products/sync", product_payload(reference="REFUSED1", categories=[2]))
    assert response.status_code >= 400
    job = SyncJob.objects.get(reference="REFUSED1")
    assert job.status == "failed" and job.next_retry_at is None
    assert job.attempt_rows.get().calls >= 1  # the refused lookup counts
    html = operator_client.get(reverse("admin:syncjobs_syncjob_change", args=[job.pk])).content.decode()
    assert 'data-tool-name="retry_job"' not in html
    assert "PrestaShop refuses this product (HTTP 400)" in html and "fix it in the ERP" in html
