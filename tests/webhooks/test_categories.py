"""The webhook's category check never waits on the shop: it reads the cached list (refreshed by beat and
after a miss, failures cached), and when the shop's categories cannot be known the delivery is accepted and
its job reports the category."""

from __future__ import annotations

import socket
import threading
import time
from unittest import mock

import pytest
from django.core.cache import cache

from syncjobs.models import SyncJob
from syncjobs.services.runner import job_run
from tests.factories.webhooks import webhook_payload
from webhooks.categories import categories_check, categories_key, categories_refresh
from webhooks.models import WebhookDelivery
from webhooks.services import delivery_process

pytestmark = pytest.mark.django_db

REFRESH = "webhooks.tasks.shop_categories_refresh_task.apply_async"


class HangingShop:
    """Accepts connections and never answers; counts them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self):
        while True:
            try:
                self.accepted.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def _shop_calls(shop) -> list:
    return [c for c in shop.calls if c[1].startswith("/api/")]


def test_known_list_answers_without_a_shop_call(webhook_client, sandbox_shop):
    before = len(_shop_calls(sandbox_shop))
    ok = webhook_client.deliver(webhook_payload(reference="C1", categories=[2, 5]), process=False)
    with mock.patch(REFRESH) as refresh:
        bad = webhook_client.deliver(webhook_payload(reference="C2", categories=[5, 987654]), process=False)
        again = webhook_client.deliver(webhook_payload(reference="C3", categories=[987655]), process=False)

    assert ok.status_code == 200
    assert (bad.status_code, again.status_code) == (422, 422)
    assert bad.json()["details"] == [
        {"field": "categories", "message": "Category 987654 does not exist in PrestaShop."}
    ]
    assert len(_shop_calls(sandbox_shop)) == before  # the request path asked the shop nothing
    refresh.assert_called_once()  # two misses, one refresh request
    assert not WebhookDelivery.objects.filter(reference__in=["C2", "C3"], status_code=200).exists()


def test_a_category_created_since_the_last_refresh_is_known_after_the_refresh(webhook_client, sandbox_shop):
    with mock.patch(REFRESH):
        assert categories_check([2, 987654]).unknown == [987654]
    new_id = sandbox_shop.store.insert("categories", {"id_parent": "2", "active": "1", "name": {1: "New", 2: "Nuovo"}})
    assert categories_refresh()  # what the requested refresh does in the worker
    assert categories_check([new_id]).unknown == []


def test_shop_hanging_and_no_list_accepts_and_the_job_reports_the_category(webhook_client, settings, sandbox_shop):
    hanging = HangingShop()
    shop_url = settings.PRESTASHOP_URL
    try:
        settings.PRESTASHOP_URL = hanging.url  # another shop: no category list is cached for it
        with mock.patch(REFRESH) as refresh:
            response = webhook_client.deliver(webhook_payload(reference="H1", categories=[2, 987654]), process=False)
        assert response.status_code == 200
        assert hanging.accepted == []  # the request path never connected to the shop
        refresh.assert_called_once()
    finally:
        hanging.close()
        settings.PRESTASHOP_URL = shop_url

    # The shop answers again; the worker applies the delivery and runs the job.
    delivery = WebhookDelivery.objects.get(reference="H1")
    job = job_run(job_id=delivery_process(delivery_id=delivery.pk).pk)
    assert job.status == "completed"
    assert "Category 987654 does not exist in PrestaShop." in job.warnings


def test_job_reports_categories_it_could_not_check(webhook_client):
    cache.delete(categories_key())
    with mock.patch(REFRESH):
        response = webhook_client.deliver(webhook_payload(reference="U1", categories=[3]), process=False)
    assert response.status_code == 200
    job = job_run(job_id=delivery_process(delivery_id=WebhookDelivery.objects.get(reference="U1").pk).pk)
    assert job.warnings == ["Category 3 could not be checked: the shop's category list is not known yet."]
    assert SyncJob.objects.get(pk=job.pk).status == "completed"


def test_an_old_list_does_not_refuse_an_id_it_lacks(webhook_client, settings):
    entry = cache.get(categories_key())
    cache.set(categories_key(), {**entry, "at": time.time() - settings.PRESTASHOP_CATEGORY_CACHE_SECONDS - 1}, None)
    with mock.patch("webhooks.categories.CATEGORY_LOCAL_SECONDS", 0), mock.patch(REFRESH):
        check = categories_check([2, 987654])
    assert (check.unknown, check.unverified) == ([], [987654])


def test_a_failed_refresh_is_cached_so_nobody_asks_the_shop_again(sandbox_shop, settings):
    sandbox_shop.down = True
    calls = len(_shop_calls(sandbox_shop))
    assert categories_refresh(force=True) is False
    after_failure = len(_shop_calls(sandbox_shop))
    assert after_failure > calls
    assert categories_refresh() is False  # the breaker is open: no call
    assert len(_shop_calls(sandbox_shop)) == after_failure
    sandbox_shop.down = False
    assert categories_refresh(force=True) is True  # beat's next run after the breaker expires does this
    assert categories_check([2]).unknown == []
