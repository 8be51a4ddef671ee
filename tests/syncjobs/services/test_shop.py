from __future__ import annotations

import pytest
from django.core.cache import cache

from syncjobs.services.shop import get_shop, shop_unknown_categories

pytestmark = pytest.mark.django_db


def test_one_connector_per_configuration(sandbox_shop, settings):
    assert get_shop() is get_shop()
    first = get_shop()
    settings.PRESTASHOP_TIMEOUT = 7
    assert get_shop() is not first


def test_category_check_names_unknown_ids_and_is_skipped_when_the_shop_is_down(sandbox_shop):
    assert shop_unknown_categories([2, 987654]) == [987654]
    sandbox_shop.down = True
    assert shop_unknown_categories([2]) == []  # the list is cached for every process: no call
    cache.clear()  # the categories cannot be known now: the check is skipped
    assert shop_unknown_categories([987655]) == []
