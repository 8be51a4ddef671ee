from __future__ import annotations

import pytest

from catalog.validation import product_validate
from syncjobs.models import SyncSource
from syncjobs.services.intake import job_intake_product
from tests.factories.catalog import product_payload


@pytest.fixture
def stored():
    """Store a product and its pending job as the API would, without any shop call: `stored(reference=...)`."""

    def store(source: str = SyncSource.API, user=None, **overrides):
        payload = product_payload(**overrides)
        data = product_validate(payload, check_categories=lambda ids: [])
        return job_intake_product(data=data, payload=payload, source=source, user=user)

    return store
