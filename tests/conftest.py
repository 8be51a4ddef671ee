import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Throttle counters and cached shop data must not leak between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
