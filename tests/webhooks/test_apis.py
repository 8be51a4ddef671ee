"""POST /api/webhooks/gesmart/products (docs/api.md, Webhook): signature over the raw body, then validation, then
the delivery and a pending job stored together and the task enqueued only after commit."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from catalog.models import Product
from syncjobs.models import SyncJob, SyncOperation, SyncSource, SyncStatus
from syncjobs.services.recovery import jobs_recover, recovery_window
from syncjobs.tasks import sweep_stale_jobs_task
from tests.factories.images import image_b64, image_item
from tests.factories.webhooks import sign, webhook_body, webhook_payload
from webhooks.models import WebhookDelivery
from webhooks.services import delivery_process

from .conftest import SECRET

pytestmark = pytest.mark.django_db


def _nothing_queued():
    assert SyncJob.objects.count() == 0
    assert Product.objects.count() == 0


# --- signature ---------------------------------------------------------------------------------


def test_valid_delivery_answers_the_documented_body(webhook_client):
    body = webhook_body(webhook_payload())
    response = webhook_client.deliver(body=body, HTTP_USER_AGENT="GeSmart/2.1")

    assert response.status_code == 200
    job = SyncJob.objects.get()
    assert response.json() == {
        "success": True,
        "message": "Webhook received and processing started",
        "data": {"syncId": job.sync_id, "reference": "PROD001", "queued": True},
    }
    assert (job.status, job.source, job.reference) == (SyncStatus.PENDING, SyncSource.WEBHOOK, "PROD001")
    delivery = WebhookDelivery.objects.get()
    assert delivery.signature_valid is True
    assert delivery.status_code == 200
    assert delivery.sync_job == job
    assert delivery.reference == "PROD001"
    assert delivery.operation == "update"
    assert delivery.source_ip == "127.0.0.1"
    assert delivery.user_agent == "GeSmart/2.1"
    assert delivery.content_type == "application/json"
    assert delivery.body_sha256 == hashlib.sha256(body).hexdigest()
    assert delivery.body_size == len(body)
    assert delivery.payload["name"] == "Updated Product Name"


@pytest.mark.parametrize(
    "signature",
    [
        sign(webhook_body(webhook_payload()), "another-secret"),
        "not base64 at all",
        "",
        sign(webhook_body(webhook_payload()), SECRET).lower(),
        "é" * 44,
    ],
    ids=["other secret", "garbage", "empty", "wrong case", "non-ascii"],
)
def test_wrong_signature_is_401_and_nothing_is_queued(webhook_client, signature):
    response = webhook_client.deliver(webhook_payload(), signature=signature)

    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["error"] == "Invalid webhook signature"
    assert body["details"][0]["field"] == "x-gesmart-signature"
    _nothing_queued()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.signature_valid, delivery.status_code, delivery.sync_job) == (False, 401, None)
    assert delivery.payload is None  # an unverified body is never parsed, only hashed
    assert delivery.reference == ""


def test_missing_signature_is_401(webhook_client):
    response = webhook_client.deliver(webhook_payload(), secret=None)

    assert response.status_code == 401
    assert response.json()["success"] is False
    _nothing_queued()
    assert WebhookDelivery.objects.get().signature_valid is False


@pytest.mark.parametrize("configured", ["", " , ", ","])
def test_unset_secret_refuses_everything(webhook_client, settings, configured):
    settings.GESMART_WEBHOOK_SECRET = configured
    body = webhook_body(webhook_payload())

    for signature in (sign(body, ""), sign(body, SECRET), sign(body, " ")):
        assert webhook_client.deliver(body=body, signature=signature).status_code == 401
    _nothing_queued()
    assert WebhookDelivery.objects.filter(signature_valid=False).count() == 3


def test_two_rotated_secrets_are_both_accepted(webhook_client, settings):
    settings.GESMART_WEBHOOK_SECRET = " old-secret-aaaa , new-secret-bbbb ,"

    first = webhook_client.deliver(webhook_payload(reference="A1"), secret="old-secret-aaaa")
    second = webhook_client.deliver(webhook_payload(reference="A2"), secret="new-secret-bbbb")
    third = webhook_client.deliver(webhook_payload(reference="A3"), secret="retired-secret-cccc")

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 401)
    assert sorted(SyncJob.objects.values_list("reference", flat=True)) == ["A1", "A2"]


def test_signature_is_over_the_raw_bytes_not_a_reserialisation(webhook_client):
    payload = webhook_payload()
    compact = json.dumps(payload, separators=(",", ":")).encode()
    spaced = json.dumps(payload, indent=2).encode()

    # Same JSON, other whitespace: the signature of the compact form does not cover it.
    refused = webhook_client.deliver(body=spaced, signature=sign(compact, SECRET))
    assert refused.status_code == 401
    _nothing_queued()

    # Signed as sent (whatever the whitespace, key order or escaping), it is accepted.
    accepted = webhook_client.deliver(body=spaced, signature=sign(spaced, SECRET))
    assert accepted.status_code == 200


def test_tampered_body_is_refused(webhook_client):
    body = webhook_body(webhook_payload(price=1499.99))
    signature = sign(body, SECRET)
    tampered = body.replace(b"1499.99", b"1.99")

    assert webhook_client.deliver(body=tampered, signature=signature).status_code == 401
    _nothing_queued()


def test_openssl_example_signature_is_accepted(webhook_client):
    """The ERP's curl/openssl example (docs/api.md, Webhook), byte for byte."""
    payload = '{"operation":"update","reference":"PROD001","name":"Updated Product","price":1499.99,"quantity":75}'
    response = webhook_client.deliver(body=payload.encode(), signature=sign(payload, SECRET))

    assert response.status_code == 200
    assert Product.objects.get(reference="PROD001").name == "Updated Product"


def test_refused_attempt_is_logged_without_secret_or_signature(webhook_client, caplog):
    signature = sign(webhook_body(webhook_payload()), "wrong-secret")
    with caplog.at_level(logging.WARNING, logger="webhooks"):
        webhook_client.deliver(webhook_payload(), signature=signature)

    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "Webhook refused" in messages
    assert "signature mismatch" in messages
    assert signature not in messages
    assert SECRET not in messages and "wrong-secret" not in messages


# --- media type, JSON, product validation ------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_other_content_type_is_415(webhook_client, content_type):
    response = webhook_client.deliver(webhook_payload(), content_type=content_type)

    assert response.status_code == 415
    assert response.json()["success"] is False
    assert response.json()["details"]
    _nothing_queued()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.signature_valid, delivery.status_code) == (True, 415)


def test_json_with_charset_is_accepted(webhook_client):
    response = webhook_client.deliver(webhook_payload(), content_type="application/json; charset=utf-8")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body", [b"{not json", b" ", b'{"price": NaN}', b"\xff\xfe"], ids=["broken", "blank", "nan", "bytes"]
)
def test_body_that_is_not_json_is_400(webhook_client, body):
    response = webhook_client.deliver(body=body)

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error"] == "Malformed JSON body"
    _nothing_queued()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.signature_valid, delivery.status_code, delivery.error) == (True, 400, "Malformed JSON body")


def test_invalid_product_is_400_with_paths_and_kept(webhook_client):
    payload = webhook_payload(
        price=-1,
        brand={"description": "no name"},
        images=[image_item("ok.png"), {"fileName": "b.png", "base64": "!!!not-base64!!!"}],
        technical_data=[{"Gruppo": "G", "Descrizione": "D", "Valore": "1"}, {"Gruppo": "G", "Descrizione": "D"}],
    )
    response = webhook_client.deliver(payload)

    assert response.status_code == 400
    fields = {d["field"] for d in response.json()["details"]}
    assert {"price", "brand.name", "images[1].base64", "technical_data[1].Valore"} <= fields
    _nothing_queued()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status_code == 400
    assert delivery.reference == "PROD001"
    assert {d["field"] for d in delivery.error_details} == fields
    # The refused payload is kept, but never as a wall of base64.
    assert delivery.payload["images"][0] == {"fileName": "ok.png", "base64Chars": len(payload["images"][0]["base64"])}
    assert "base64" not in json.dumps(delivery.payload["images"]).replace("base64Chars", "")


def test_not_an_object_is_400(webhook_client):
    response = webhook_client.deliver(body=b"[1, 2, 3]")
    assert response.status_code == 400
    _nothing_queued()


def test_png_bytes_named_jpg_is_422(webhook_client):
    payload = webhook_payload(images=[{"fileName": "front.jpg", "base64": image_b64("PNG")}])
    response = webhook_client.deliver(payload)

    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False
    assert body["details"][0]["field"] == "images[0].base64"
    _nothing_queued()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.signature_valid, delivery.status_code, delivery.sync_job) == (True, 422, None)
    assert "base64" not in delivery.payload["images"][0]


def test_unknown_category_is_422(webhook_client):
    response = webhook_client.deliver(webhook_payload(categories=[5, 999]))

    assert response.status_code == 422
    assert response.json()["details"] == [
        {"field": "categories", "message": "Category 999 does not exist in PrestaShop."}
    ]
    _nothing_queued()


def test_valid_images_are_stored_as_hashes_in_the_delivery(webhook_client):
    payload = webhook_payload(images=[image_item("front.png")])
    assert webhook_client.deliver(payload).status_code == 200

    stored = WebhookDelivery.objects.get().payload["images"][0]
    assert stored["fileName"] == "front.png"
    assert len(stored["sha256"]) == 64
    assert "base64" not in stored
    assert "base64" not in SyncJob.objects.get().payload["images"][0]


# --- event semantics ---------------------------------------------------------------------------


def test_update_of_unknown_reference_creates_it(webhook_client):
    response = webhook_client.deliver(webhook_payload(operation="update", reference="NEW1", name="Fresh"))

    assert response.status_code == 200
    job = SyncJob.objects.get()
    assert job.operation == SyncOperation.CREATE
    product = Product.objects.get(reference="NEW1")
    assert (product.name, job.product) == ("Fresh", product)


def test_create_of_known_reference_updates_it(webhook_client):
    webhook_client.deliver(webhook_payload(operation="create", reference="K1", name="First", quantity=1))
    response = webhook_client.deliver(webhook_payload(operation="create", reference="K1", name="Second", quantity=9))

    assert response.status_code == 200
    assert Product.objects.filter(reference="K1").count() == 1
    product = Product.objects.get(reference="K1")
    assert (product.name, product.quantity) == ("Second", 9)
    assert list(SyncJob.objects.order_by("pk").values_list("operation", flat=True)) == ["create", "update"]


def test_same_delivery_three_times_keeps_one_product_and_every_delivery(webhook_client):
    body = webhook_body(webhook_payload(reference="DUP1"))
    for _ in range(3):
        assert webhook_client.deliver(body=body).status_code == 200

    assert Product.objects.filter(reference="DUP1").count() == 1
    assert WebhookDelivery.objects.filter(reference="DUP1", body_sha256=hashlib.sha256(body).hexdigest()).count() == 3


def test_delete_of_known_reference(webhook_client):
    webhook_client.deliver(webhook_payload(reference="DEL1"))
    response = webhook_client.deliver({"operation": "delete", "reference": "DEL1"})

    assert response.status_code == 200
    assert response.json()["data"]["reference"] == "DEL1"
    job = SyncJob.objects.get(operation=SyncOperation.DELETE)
    assert (job.status, job.source) == (SyncStatus.PENDING, SyncSource.WEBHOOK)
    assert Product.objects.get(reference="DEL1").is_deleted is True
    delivery = WebhookDelivery.objects.get(sync_job=job)
    assert (delivery.operation, delivery.reference) == ("delete", "DEL1")


def test_delete_of_unknown_reference_is_accepted_and_completes_with_nothing_to_do(webhook_client):
    from syncjobs.services.runner import job_run

    response = webhook_client.deliver({"operation": "delete", "reference": "NEVER-SEEN"})

    assert response.status_code == 200
    job = SyncJob.objects.get()
    assert (job.operation, job.product) == (SyncOperation.DELETE, None)
    job = job_run(job_id=job.pk)  # no shop is configured: a call to it would fail the job
    assert job.status == SyncStatus.COMPLETED
    assert job.outcome == "absent"


def test_delete_without_reference_is_400(webhook_client):
    response = webhook_client.deliver({"operation": "delete"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "reference"
    _nothing_queued()


# --- one row, one message; the worker applies it -------------------------------------------------


def test_request_stores_one_row_and_publishes_after_commit(webhook_client, django_capture_on_commit_callbacks):
    with mock.patch("webhooks.tasks.webhook_delivery_task.apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = webhook_client.deliver(webhook_payload(reference="OC1", name="One row"), process=False)
            assert response.status_code == 200
            # The delivery row exists, with the product the worker will apply; nothing else was written.
            delivery = WebhookDelivery.objects.get(reference="OC1")
            assert delivery.sync_id == response.json()["data"]["syncId"]
            assert delivery.product["fields"]["name"] == "One row"
            assert delivery.processed_at is None
            assert SyncJob.objects.count() == 0 and Product.objects.count() == 0
            apply_async.assert_not_called()
        assert len(callbacks) == 1
        callbacks[0]()
    apply_async.assert_called_once()
    assert apply_async.call_args.args[0] == (delivery.pk,)


def test_worker_applies_the_delivery_with_the_answered_sync_id(webhook_client, django_capture_on_commit_callbacks):
    response = webhook_client.deliver(webhook_payload(reference="W1", name="Applied", price=19.99), process=False)
    sync_id = response.json()["data"]["syncId"]
    delivery = WebhookDelivery.objects.get(sync_id=sync_id)

    with mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=True):
            job = delivery_process(delivery_id=delivery.pk)
    assert (job.sync_id, job.status, job.source, job.operation) == (sync_id, "pending", "webhook", "create")
    product = Product.objects.get(reference="W1")
    assert (product.name, str(product.price)) == ("Applied", "19.990000")
    delivery.refresh_from_db()
    assert (delivery.sync_job, delivery.processed_at is not None) == (job, True)
    apply_async.assert_called_once()
    assert apply_async.call_args.args[0] == (job.pk,)
    # Applying it again (a redelivered message) changes nothing.
    assert delivery_process(delivery_id=delivery.pk) == job
    assert SyncJob.objects.count() == 1 and Product.objects.get(reference="W1").version == product.version


def test_sync_record_is_pending_before_the_worker_applies_the_delivery(webhook_client, api_client):
    response = webhook_client.deliver(webhook_payload(reference="P1"), process=False)
    sync_id = response.json()["data"]["syncId"]

    record = api_client.get(f"/api/products/sync?syncId={sync_id}")
    assert record.status_code == 200
    data = record.json()["data"]
    assert (data["syncId"], data["reference"], data["status"], data["source"]) == (sync_id, "P1", "pending", "webhook")
    assert (data["attempts"], data["productId"]) == (0, None)

    delivery_process(delivery_id=WebhookDelivery.objects.get(sync_id=sync_id).pk)
    data = api_client.get(f"/api/products/sync?syncId={sync_id}").json()["data"]
    assert data["productId"] == Product.objects.get(reference="P1").pk
    assert data["operation"] == "create"


def test_deliveries_applied_out_of_order_keep_the_last_one_received(webhook_client):
    first = webhook_client.deliver(webhook_payload(reference="ORD1", name="First", quantity=1), process=False)
    second = webhook_client.deliver(webhook_payload(reference="ORD1", name="Second", quantity=2), process=False)
    first_id = WebhookDelivery.objects.get(sync_id=first.json()["data"]["syncId"]).pk
    second_id = WebhookDelivery.objects.get(sync_id=second.json()["data"]["syncId"]).pk

    delivery_process(delivery_id=second_id)  # the newer message reached a worker first
    late = delivery_process(delivery_id=first_id)

    product = Product.objects.get(reference="ORD1")
    assert (product.name, product.quantity) == ("Second", 2)
    assert late.sync_id == first.json()["data"]["syncId"] and late.status == SyncStatus.PENDING
    assert SyncJob.objects.filter(reference="ORD1").count() == 2


def test_an_api_update_newer_than_a_queued_delivery_wins(webhook_client, api_client, sandbox_shop):
    webhook_client.deliver(webhook_payload(reference="MIX1", name="Created", quantity=1))
    queued = webhook_client.deliver(webhook_payload(reference="MIX1", name="From the ERP queue"), process=False)
    api = api_client.post_json(
        "/api/products/sync", webhook_payload(operation="update", reference="MIX1", name="From the API", quantity=5)
    )
    assert api.status_code == 200, api.content

    delivery_process(delivery_id=WebhookDelivery.objects.get(sync_id=queued.json()["data"]["syncId"]).pk)
    product = Product.objects.get(reference="MIX1")
    assert (product.name, product.quantity) == ("From the API", 5)


def test_refused_delivery_registers_no_commit_callback(webhook_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        webhook_client.deliver(webhook_payload(), signature="bad")
        webhook_client.deliver(webhook_payload(price=-1))
    assert callbacks == []


def test_broker_down_answers_200_and_the_sweeper_sends_the_delivery_again(
    webhook_client, django_capture_on_commit_callbacks
):
    with mock.patch("webhooks.tasks.webhook_delivery_task.apply_async", side_effect=ConnectionError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            response = webhook_client.deliver(webhook_payload(reference="BD1"), process=False)
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get(reference="BD1")
    assert delivery.processed_at is None and delivery.dispatched_at is None  # kept, known unsent; nothing lost

    with mock.patch("webhooks.tasks.webhook_delivery_task.apply_async") as apply_async:
        assert jobs_recover().deliveries == []  # received within the recovery window: not due yet
        _received_before_the_window(delivery)
        assert jobs_recover().deliveries == [delivery.pk]
        assert jobs_recover().deliveries == []  # sent: not again within the window
    assert apply_async.call_args.args[0] == (delivery.pk,)
    delivery.refresh_from_db()
    assert delivery.dispatched_at is not None
    delivery_process(delivery_id=delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(dispatched_at=None)
    with mock.patch("webhooks.tasks.webhook_delivery_task.apply_async") as apply_async:
        assert jobs_recover().deliveries == []  # applied: never sent again
    assert not apply_async.called


def _received_before_the_window(delivery):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        received_at=timezone.now() - timedelta(seconds=recovery_window() + 1)
    )


def test_the_beat_sweep_task_sends_lost_deliveries_again(webhook_client, settings, django_capture_on_commit_callbacks):
    with mock.patch("webhooks.tasks.webhook_delivery_task.apply_async", side_effect=ConnectionError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            webhook_client.deliver(webhook_payload(reference="SW1"), process=False)
    _received_before_the_window(WebhookDelivery.objects.get(reference="SW1"))
    with mock.patch("webhooks.tasks.webhook_delivery_task.apply_async") as apply_async:
        assert sweep_stale_jobs_task() == 1
    assert apply_async.call_args.args[0] == (WebhookDelivery.objects.get(reference="SW1").pk,)


# --- throttling, method ------------------------------------------------------------------------


def test_throttled_per_source_ip_with_retry_after(webhook_client, settings):
    from django.core.cache import cache

    settings.WEBHOOK_THROTTLE_RATE = "3/min"  # read per request by the throttle
    cache.clear()

    codes = [webhook_client.deliver(webhook_payload(reference=f"T{i}")).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    response = webhook_client.deliver(webhook_payload(reference="T9"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["success"] is False
    assert response.json()["error"] == "Too many requests"
    # Another source IP has its own budget.
    assert webhook_client.deliver(webhook_payload(reference="T10"), REMOTE_ADDR="10.0.0.7").status_code == 200


def test_get_is_405_in_the_envelope(webhook_client):
    response = webhook_client.get("/api/webhooks/gesmart/products")
    assert response.status_code == 405
    assert response.json()["success"] is False
