"""ShopFacts: the shop's languages and categories, read once and shared through a store."""

from __future__ import annotations

import time

from connectors.prestashop.facts import MemoryStore, ShopFacts

from .conftest import in_process_client, log


def facts_on(shop, store, **kwargs) -> ShopFacts:
    return ShopFacts(in_process_client(shop), store, key_prefix="t", **kwargs)


def test_read_once_for_every_process(shop):
    store = MemoryStore()
    assert facts_on(shop, store).languages() == [1, 2]
    assert facts_on(shop, store).categories() >= {1, 2, 3}
    assert log(shop) == ["GET languages", "GET categories"]
    shop.reset_calls()
    other = facts_on(shop, store)
    assert other.languages() == [1, 2] and 2 in other.categories()
    assert shop.calls == []


def test_category_miss_refreshes_an_older_list_once(shop):
    store = MemoryStore()
    facts = facts_on(shop, store)
    facts.categories()
    store.set("t:categories", {"ids": [1, 2], "at": time.time() - 60})  # read a minute ago, before 3 existed
    shop.reset_calls()
    assert facts.unknown_categories([2, 3]) == []
    assert log(shop) == ["GET categories"]
    assert facts.unknown_categories([2, 999]) == [999]  # the list was just read: no second read
    assert log(shop) == ["GET categories"]


def test_stale_list_is_read_again_after_its_ttl_and_cached_never_calls(shop):
    store = MemoryStore()
    facts = facts_on(shop, store, categories_ttl=30)
    assert facts.cached_categories() is None
    store.set("t:categories", {"ids": [1, 2], "at": time.time() - 31})
    assert facts.cached_categories() == {1, 2}
    assert shop.calls == []
    assert 3 in facts.categories()
    assert log(shop) == ["GET categories"]


def test_image_limit_remembered(shop):
    store = MemoryStore()
    facts = facts_on(shop, store)
    assert facts.image_max_bytes(2_000_000) == 2_000_000
    facts.remember_image_max_bytes(300_000)
    assert facts_on(shop, store).image_max_bytes(2_000_000) == 300_000
