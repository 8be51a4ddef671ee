"""End to end: the service's exports against the sandbox Productsup over real HTTP, both transports."""

import pytest

from catalog.models import Product
from connectors.productsup.rows import COLUMNS
from exports.models import ProductsupBatch, ProductsupBatchItem
from exports.services import productsup_export, productsup_flush, productsup_product_changed
from tests.factories.exports import make_product

pytestmark = pytest.mark.django_db

SPEC_COLS = ["spec_colore", "spec_potenza"]
EXPECTED_COLUMNS = list(COLUMNS) + SPEC_COLS


def delta_after_change(products):
    productsup_product_changed(product_ids=[p.pk for p in products])
    return productsup_export(full=False, triggered_by="change")


def received(sandbox, transport):
    return sandbox.site_rows(123) if transport == "platform" else sandbox.stream_rows("1000")


@pytest.mark.parametrize("transport", ["platform", "stream"])
def test_rows_arrive_with_the_right_columns_after_a_sync(productsup, settings, transport):
    settings.PRODUCTSUP_TRANSPORT = transport
    a = make_product("DRILL-1", price="1299.990000", quantity=3)
    b = make_product(
        "DRILL-2", quantity=0, active=False, image_ids=[7], specs=[("Colore", "rosso", "")], brand=None, weight=None
    )

    batch = delta_after_change([a, b])

    assert batch.status == ProductsupBatch.Status.COMMITTED and batch.kind == "delta"
    assert batch.transport == transport and len(batch.batch_id) == 32
    assert batch.rows == 2 and batch.requests == 1
    rows = received(productsup, transport)
    assert set(rows) == {"DRILL-1", "DRILL-2"}
    for row in rows.values():
        assert list(row) == EXPECTED_COLUMNS  # every row every column, nothing else
    assert rows["DRILL-1"] | {} == {
        "id": "DRILL-1",
        "title": "Trapano a percussione",
        "description": a.description,
        "price": "1299.99",
        "quantity": 3,
        "availability": "in stock",
        "active": "1",
        "gtin": "8001234567890",
        "brand": "Bosch",
        "weight": "1.5",
        "image_link": "https://shop.example.com/img/p/1/2/12.jpg",
        "additional_image_link": "https://shop.example.com/img/p/3/4/5/345.jpg",
        "category_ids": "2,7",
        "spec_colore": "blu",
        "spec_potenza": "1500 W",
    }
    assert rows["DRILL-2"]["availability"] == "out of stock" and rows["DRILL-2"]["active"] == "0"
    assert rows["DRILL-2"]["spec_potenza"] == "" and rows["DRILL-2"]["brand"] == ""
    # Committed: the marks are cleared.
    assert not Product.objects.filter(productsup_dirty_at__isnull=False).exists()
    if transport == "platform":
        assert productsup.batch(batch.batch_id)["type"] == "delta"
        assert productsup.batch(batch.batch_id)["automatic_import"] is True
        assert productsup.count("POST", "/commit") == 1


def test_a_delete_arrives_as_pup_isdeleted(productsup, settings):
    keep = make_product("KEEP")
    gone = make_product("GONE")
    delta_after_change([keep, gone])
    assert set(productsup.site_rows()) == {"KEEP", "GONE"}

    gone.is_deleted = True
    gone.save()
    batch = delta_after_change([gone])

    upload = [c for c in productsup.calls if c.path.endswith("/upload")][-1]
    assert upload.batch_id == batch.batch_id
    assert set(productsup.site_rows()) == {"KEEP"}  # -1: hard delete removes the row
    assert batch.deleted_rows == 1

    # Soft delete: pup:isdeleted = 1, the row stays, marked.
    settings.PRODUCTSUP_SOFT_DELETE = True
    keep.is_deleted = True
    keep.save()
    delta_after_change([keep])
    assert productsup.site_rows()["KEEP"]["pup:isdeleted"] == 1


def test_the_uploaded_delete_row_carries_the_flag(productsup):
    make_product("GONE", is_deleted=True, dirty=True)
    batch = productsup_export(full=False, triggered_by="change")
    [row] = productsup.batch_rows(batch.batch_id)
    assert row["id"] == "GONE" and row["pup:isdeleted"] == -1
    assert set(EXPECTED_COLUMNS) <= set(row)


@pytest.mark.parametrize("transport", ["platform", "stream"])
def test_stream_and_platform_delete(productsup, settings, transport):
    settings.PRODUCTSUP_TRANSPORT = transport
    a = make_product("A")
    b = make_product("B")
    delta_after_change([a, b])
    b.is_deleted = True
    b.save()
    delta_after_change([b])
    assert set(received(productsup, transport)) == {"A"}
    if transport == "stream":
        assert productsup.count("DELETE", "/streams/1000/products") == 1


def test_423_on_upload_is_waited_out(productsup):
    product = make_product("LOCKED")
    productsup.lock_next_upload(times=2)

    batch = delta_after_change([product])

    assert batch.status == ProductsupBatch.Status.COMMITTED and batch.attempt == 1
    assert productsup.count("POST", "/upload", status=423) == 2
    assert productsup.count("POST", "/upload", status=200) == 1
    assert productsup.batch(batch.batch_id)["duplicates"] == 0
    assert set(productsup.site_rows()) == {"LOCKED"}


@pytest.mark.parametrize("after", [False, True], ids=["refused", "answer-lost"])
def test_failed_upload_is_discarded_and_resent_clean(productsup, settings, after):
    settings.PRODUCTSUP_UPLOAD_ROWS = 2  # 5 products → 3 upload requests per batch
    products = [make_product(f"P{i}") for i in range(5)]
    productsup_product_changed(product_ids=[p.pk for p in products])
    # The 2nd upload request fails; after=True: the sandbox stored its rows but the answer was lost.
    productsup.fail_next("/upload", status=500, times=1, skip=1, method="POST", after=after)

    batch = productsup_export(full=False, triggered_by="change")

    first = ProductsupBatch.objects.get(attempt=1)
    assert first.status == ProductsupBatch.Status.DISCARDED
    assert first.error_details["stage"] == "upload" and first.requests == 1
    assert productsup.batch(first.batch_id)["status"] == "discarded"
    assert productsup.count("POST", f"{first.batch_id}/commit") == 0
    assert batch.status == ProductsupBatch.Status.COMMITTED and batch.attempt == 2
    assert batch.retry_of_id == first.pk and batch.batch_id != first.batch_id
    # The resend is the whole batch, each row exactly once.
    remote = productsup.batch(batch.batch_id)
    assert remote["rows"] == 5 and remote["uploads"] == 3 and remote["duplicates"] == 0
    assert sorted(r["id"] for r in productsup.batch_rows(batch.batch_id)) == [f"P{i}" for i in range(5)]
    assert set(productsup.site_rows()) == {f"P{i}" for i in range(5)}
    assert not Product.objects.filter(productsup_dirty_at__isnull=False).exists()


def test_a_batch_that_keeps_failing_loses_nothing(productsup, settings):
    settings.PRODUCTSUP_BATCH_ATTEMPTS = 2
    product = make_product("STUCK", dirty=True)
    productsup.fail_next("/upload", status=500, times=2, method="POST")

    batch = productsup_export(full=False, triggered_by="change")

    assert batch.status == ProductsupBatch.Status.DISCARDED and batch.attempt == 2
    product.refresh_from_db()
    assert product.productsup_dirty_at is not None  # still marked: the next flush sends it
    assert productsup.site_rows() == {}
    again = productsup_flush()
    assert again.status == ProductsupBatch.Status.COMMITTED
    assert set(productsup.site_rows()) == {"STUCK"}


def test_a_change_while_the_batch_is_in_flight_is_not_lost(productsup, monkeypatch):
    product = make_product("RACE", dirty=True)
    from exports import services

    real = services._clear_dirty

    def change_then_clear(batch):
        # The ERP changed the product after the batch read it, before the batch committed.
        productsup_product_changed(product_ids=[product.pk])
        return real(batch)

    monkeypatch.setattr(services, "_clear_dirty", change_then_clear)
    productsup_export(full=False, triggered_by="change")
    product.refresh_from_db()
    assert product.productsup_dirty_at is not None
    assert ProductsupBatchItem.objects.filter(product=product).count() == 1

    monkeypatch.setattr(services, "_clear_dirty", real)
    productsup_export(full=False, triggered_by="change")
    product.refresh_from_db()
    assert product.productsup_dirty_at is None


def test_full_export_replaces_the_site_data(productsup, settings):
    productsup.put_site_rows([{"id": "STALE-1", "title": "old"}, {"id": "KEEP-1", "title": "old title"}])
    make_product("KEEP-1")
    make_product("NEW-1")
    make_product("DELETED-1", is_deleted=True)

    batch = productsup_export(full=True, triggered_by="command")

    assert batch.kind == "full" and batch.status == ProductsupBatch.Status.COMMITTED
    rows = productsup.site_rows()
    assert set(rows) == {"KEEP-1", "NEW-1"}
    assert rows["KEEP-1"]["title"] == "Trapano a percussione"
    assert productsup.batch(batch.batch_id)["type"] == "full"
    assert batch.rows == 2 and batch.skipped_rows == 1 and batch.requests == 1


def test_full_export_under_stream_deletes_what_the_service_no_longer_holds(productsup, settings):
    settings.PRODUCTSUP_TRANSPORT = "stream"
    productsup.put_stream_rows([{"id": "DELETED-1", "title": "x"}, {"id": "KEEP-1", "title": "old"}])
    make_product("KEEP-1")
    make_product("NEW-1")
    make_product("DELETED-1", is_deleted=True)

    batch = productsup_export(full=True, triggered_by="command")

    assert batch.status == ProductsupBatch.Status.COMMITTED and batch.transport == "stream"
    assert set(productsup.stream_rows()) == {"KEEP-1", "NEW-1"}
    assert productsup.stream_rows()["KEEP-1"]["title"] == "Trapano a percussione"
    assert not any("all=true" in c.path for c in productsup.calls)
    assert productsup.count("DELETE") == 1 and batch.deleted_rows == 1
    assert len(batch.remote_batch_ids) == 2


def test_full_export_of_an_empty_catalogue_clears_the_site(productsup):
    productsup.put_site_rows([{"id": "OLD"}])
    batch = productsup_export(full=True, triggered_by="command")
    assert batch.status == ProductsupBatch.Status.COMMITTED
    assert productsup.site_rows() == {}


def test_full_export_in_chunks_of_upload_rows(productsup, settings):
    settings.PRODUCTSUP_UPLOAD_ROWS = 3
    for i in range(7):
        make_product(f"C{i}")
    batch = productsup_export(full=True, triggered_by="command")
    assert batch.requests == 3 and productsup.count("POST", "/upload") == 3
    assert productsup.count("POST", "/commit") == 1 and len(productsup.site_rows()) == 7


def test_site_by_tag(productsup, settings):
    settings.PRODUCTSUP_SITE = "sandbox:main"
    make_product("TAGGED", dirty=True)
    productsup_export(full=False, triggered_by="change")
    assert set(productsup.site_rows(123)) == {"TAGGED"}


def test_stream_partial_upload_is_recorded(productsup, settings):
    settings.PRODUCTSUP_TRANSPORT = "stream"
    make_product("HUGE", dirty=True).__class__.objects.filter(reference="HUGE").update(description="x" * 1_100_000)
    make_product("SMALL", dirty=True)
    batch = productsup_export(full=False, triggered_by="change")
    assert batch.status == ProductsupBatch.Status.PARTIAL and batch.invalid_rows == 1
    assert "1 MB" in str(batch.error_details["errors"])
    assert set(productsup.stream_rows()) == {"SMALL"}


def test_stream_rate_limit_is_waited_out(productsup, settings):
    settings.PRODUCTSUP_TRANSPORT = "stream"
    settings.PRODUCTSUP_UPLOAD_ROWS = 1
    for i in range(3):
        make_product(f"S{i}", dirty=True)
    productsup.rate_limit_next("/streams/1000/products", times=1, retry_after=0.2)
    batch = productsup_export(full=False, triggered_by="change")
    assert batch.status == ProductsupBatch.Status.COMMITTED
    assert productsup.count(status=429) == 1 and len(productsup.stream_rows()) == 3


def test_wrong_credentials_fail_without_retries(productsup, settings):
    settings.PRODUCTSUP_CLIENT_SECRET = "wrong"
    make_product("X", dirty=True)
    batch = productsup_export(full=False, triggered_by="change")
    assert batch.status in (ProductsupBatch.Status.FAILED, ProductsupBatch.Status.DISCARDED)
    assert batch.attempt == 1 and batch.error_details["status"] == 401
    assert "auth token" in batch.error


def test_disabled_does_nothing(productsup, settings):
    settings.PRODUCTSUP_ENABLED = False
    make_product("OFF", dirty=True)
    assert productsup_export(full=True, triggered_by="command") is None
    assert productsup.calls == []


def test_out_of_time_discards_and_stops(productsup, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from exports import selectors

    make_product("A", dirty=True)

    def too_slow(**kwargs):
        raise SoftTimeLimitExceeded()
        yield  # pragma: no cover

    monkeypatch.setattr(selectors, "export_sources", too_slow)
    with pytest.raises(SoftTimeLimitExceeded):
        productsup_export(full=False, triggered_by="change")
    batch = ProductsupBatch.objects.get()
    assert batch.status == ProductsupBatch.Status.DISCARDED and batch.attempt == 1
