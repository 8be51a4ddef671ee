from __future__ import annotations

import pytest

from tests.factories.webhooks import webhook_payload
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model, settings):
    # Tests run with DEBUG off and no collectstatic: no manifest to look names up in.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-password-123")
    client.force_login(admin)
    return client


def test_deliveries_are_listed_filtered_and_searched_read_only(
    staff_client, webhook_client, django_assert_max_num_queries
):
    for i in range(5):
        webhook_client.deliver(webhook_payload(reference=f"ADM{i}"))
    webhook_client.deliver(webhook_payload(reference="BAD"), signature="nope")

    url = "/admin/webhooks/webhookdelivery/"
    with django_assert_max_num_queries(12):
        response = staff_client.get(url)
    assert response.status_code == 200
    assert b"ADM4" in response.content

    refused = staff_client.get(url, {"signature_valid__exact": "0"})
    assert refused.status_code == 200
    assert refused.context["cl"].result_count == 1

    found = staff_client.get(url, {"q": "ADM3"})
    assert found.context["cl"].result_count == 1

    delivery = WebhookDelivery.objects.filter(reference="ADM1").get()
    detail = staff_client.get(f"{url}{delivery.pk}/change/")
    assert detail.status_code == 200
    assert b'name="reference"' not in detail.content  # read-only: no form inputs
    assert staff_client.get(f"{url}add/").status_code == 403
