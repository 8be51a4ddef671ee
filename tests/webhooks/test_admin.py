"""Every webhook delivery in the back-office, with its outcome and reason: valid, refused, oversized."""

from __future__ import annotations

import hashlib
import json
from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from tests.factories.webhooks import webhook_body, webhook_payload
from webhooks.models import WebhookDelivery

from .conftest import SECRET

pytestmark = pytest.mark.django_db

URL = "/admin/webhooks/webhookdelivery/"


@pytest.fixture
def viewer_client(client, django_user_model, settings):
    # Tests run with DEBUG off and no collectstatic: no manifest to look names up in.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("setup_staff_groups", verbosity=0)
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "viewer-password-123", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Sync viewers"))
    client.force_login(viewer)
    return client


def test_deliveries_are_listed_filtered_and_searched_read_only(
    viewer_client, webhook_client, django_assert_max_num_queries
):
    for i in range(5):
        webhook_client.deliver(webhook_payload(reference=f"ADM{i}"))
    webhook_client.deliver(webhook_payload(reference="BAD"), signature="nope")

    with django_assert_max_num_queries(12):
        response = viewer_client.get(URL)
    assert response.status_code == 200
    assert b"ADM4" in response.content

    refused = viewer_client.get(URL, {"signature_valid__exact": "0"})
    assert refused.status_code == 200
    assert refused.context["cl"].result_count == 1

    found = viewer_client.get(URL, {"q": "ADM3"})
    assert found.context["cl"].result_count == 1

    delivery = WebhookDelivery.objects.filter(reference="ADM1").get()
    detail = viewer_client.get(f"{URL}{delivery.pk}/change/")
    assert detail.status_code == 200
    assert b'name="reference"' not in detail.content  # read-only: no form inputs
    assert viewer_client.get(f"{URL}add/").status_code == 403


def test_an_oversized_webhook_keeps_a_delivery_row_with_size_and_hash(viewer_client, webhook_client, settings):
    settings.API_MAX_BODY_MB = 1
    body = webhook_body(webhook_payload(reference="HUGE1", description="x" * 9_000))
    body = body[:-1] + b', "padding": "' + b"y" * (1024 * 1024) + b'"}'
    response = webhook_client.deliver(body=body)
    assert response.status_code == 413 and response.json()["success"] is False

    delivery = WebhookDelivery.objects.get(status_code=413)
    assert delivery.body_size == len(body)
    assert delivery.body_sha256 == hashlib.sha256(body).hexdigest()
    assert delivery.payload is None and delivery.reference == "" and delivery.sync_job is None
    assert not delivery.signature_valid and delivery.error == "Request body too large"

    listing = viewer_client.get(URL, {"status_code__exact": "413"})
    assert listing.context["cl"].result_count == 1
    html = listing.content.decode()
    assert "413 too large" in html and "Request body too large" in html and "MiB" in html


def test_refused_deliveries_show_why(viewer_client, webhook_client):
    webhook_client.deliver(webhook_payload(reference="NEG1", price=-5.25))
    webhook_client.deliver(body=b'{"operation": "update", "reference": ', secret=SECRET)
    webhook_client.deliver(webhook_payload(reference="NOSIG"), signature="bad")
    html = viewer_client.get(URL).content.decode()
    rows = {d.status_code: d for d in WebhookDelivery.objects.all()}
    assert set(rows) == {400, 401}
    negative = WebhookDelivery.objects.get(reference="NEG1")
    assert negative.status_code == 400 and negative.error_details
    field = negative.error_details[0]["field"]
    assert f"{negative.error}: {field}: {negative.error_details[0]['message']}" in unescape(html)
    assert "400 invalid" in html and "401 bad signature" in html
    assert json.dumps(negative.payload["price"]) == "-5.25"  # the payload kept as it was sent: a number
