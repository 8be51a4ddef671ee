"""The admin looks like our product: its name, names a shop operator reads, no Celery internals, and `/`."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_site_is_products_sync_with_operator_names_and_no_celery_results(viewer_client):
    html = viewer_client.get(reverse("admin:index")).content.decode()
    assert "<title>Back-office | Products Sync</title>" in html
    assert 'id="site-name"><a href="/admin/">Products Sync</a>' in html
    assert "Django administration" not in html
    assert '<a href="/">View site</a>' in html  # leads to the landing page
    for name in ("Sync jobs", "Products", "Productsup batches", "Webhook deliveries", "Schedules"):
        assert f">{name}<" in html, name
    assert "Syncjobs" not in html and "SYNCJOBS" not in html
    assert "Task results" not in html and "Group results" not in html
    assert viewer_client.get("/admin/django_celery_results/taskresult/").status_code == 404


def test_the_landing_page_links_the_back_office_the_api_docs_and_postman(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Products Sync</h1>" in html
    for link in ("/admin/", "/api/docs/", "/api/redoc/", "/api/postman/"):
        assert f'href="{link}"' in html, link
