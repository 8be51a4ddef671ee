"""catalog/selectors.py: reads of the local catalogue."""

import pytest

from catalog.selectors import product_get_by_reference, product_ids_in_chunks
from tests.factories.catalog import ProductFactory

pytestmark = pytest.mark.django_db


def test_product_by_reference_with_and_without_deleted():
    deleted = ProductFactory(reference="GONE", is_deleted=True)

    assert product_get_by_reference(reference="GONE") == deleted
    assert product_get_by_reference(reference="GONE", include_deleted=False) is None
    assert product_get_by_reference(reference="NEVER") is None


def test_reference_match_is_exact():
    ProductFactory(reference="ABC")

    assert product_get_by_reference(reference="abc") is None


def test_ids_in_chunks_cover_every_live_product_once_in_order():
    products = ProductFactory.create_batch(7)
    ProductFactory(is_deleted=True)

    chunks = list(product_ids_in_chunks(chunk_size=3))

    assert [len(c) for c in chunks] == [3, 3, 1]
    assert [pk for chunk in chunks for pk in chunk] == [p.pk for p in products]


def test_ids_in_chunks_can_include_deleted():
    ProductFactory()
    deleted = ProductFactory(is_deleted=True)

    ids = [pk for chunk in product_ids_in_chunks(include_deleted=True) for pk in chunk]

    assert deleted.pk in ids and len(ids) == 2
