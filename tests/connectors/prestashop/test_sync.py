"""ShopSync against the sandbox PrestaShop's Webservice, in process (see conftest.py).

What the tests assert is what arrived in the shop (the sandbox's store) and which calls it took.
"""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import pytest
from PIL import Image

from connectors.http import RemoteRejected
from connectors.prestashop.facts import MemoryStore
from connectors.prestashop.resolve import ShopIds, ValueKey, resolve
from connectors.prestashop.state import ShopState
from connectors.prestashop.types import FeatureSpec, ImageSpec, ProductSpec, PushFailed
from connectors.prestashop.xml import Lang
from sandboxes.prestashop.webservice import Response

from .conftest import log, new_sync


def jpeg(color=(200, 30, 30), size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def noisy_jpeg(size: tuple[int, int], quality: int = 95) -> bytes:
    """A photo-like JPEG that stays large (random noise does not compress)."""
    import os

    img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def image(content: bytes, name="photo.jpg") -> ImageSpec:
    return ImageSpec(sha256=hashlib.sha256(content).hexdigest(), file_name=name, content=content)


RED, GREEN, BLUE = jpeg((200, 0, 0)), jpeg((0, 200, 0)), jpeg((0, 0, 200))
TRUNCATED = noisy_jpeg((300, 300))[:6000]  # its header reads, the shop cannot copy it (code 76)


def features_in(shop, names=("Potenza", "Tensione"), values=("1500 W", "230 V")) -> list[tuple[int, int]]:
    """Features and values created in the shop beforehand: their (id_feature, id_feature_value) pairs."""
    sync = new_sync(shop)
    ids = resolve(
        sync.client,
        ShopIds(),
        features=[FeatureSpec(n, v, i) for i, (n, v) in enumerate(zip(names, values, strict=True))],
        languages=[1, 2],
    )
    return [(ids.features[n], ids.values[ValueKey(ids.features[n], v)]) for n, v in zip(names, values, strict=True)]


def make_spec(**overrides) -> ProductSpec:
    values = dict(
        reference="ABC-1",
        name="Trapano a percussione",
        description="<p>Potente & leggero</p>",
        price=Decimal("19.90"),
        quantity=5,
        active=True,
        category_ids=[2, 3],
        ean13="4006381333931",
        weight=Decimal("1.5"),
        manufacturer_id=None,
        images=[image(RED, "red.jpg"), image(GREEN, "green.jpg")],
        feature_values=[],
    )
    values.update(overrides)
    return ProductSpec(**values)


def seed(shop, reference: str) -> int:
    """A product created by hand in the shop (not by us)."""
    client = new_sync(shop).client
    row = client.create_product(
        {"price": Decimal(1), "reference": reference, "name": Lang({1: "Old", 2: "Old"}), "state": 1}
    )
    return int(row["id"])


def shop_images(shop, pid: int) -> list[int]:
    return [i["id"] for i in shop.store.product_images(pid)]


# ---------------------------------------------------------------- create


def test_create_new_product_minimal_calls(sync, shop):
    pairs = features_in(shop)
    shop.reset_calls()
    result = sync.push_product(make_spec(feature_values=pairs), None)
    pid = result.presta_id
    assert log(shop) == [
        "GET products",  # look up by reference before creating
        "GET languages",  # the shop's facts, read once (then shared through the store)
        "POST products",
        "GET stock_availables",
        f"PUT stock_availables/{result.state.stock.id}",
        f"POST images/products/{pid}",
        f"POST images/products/{pid}",
    ]
    assert result.calls == 7
    assert (result.changed, result.adopted) == (True, False)
    assert result.images_processed == 2 and result.features_processed == 2
    assert result.image_errors == [] and result.warnings == []
    p = shop.product(pid)
    assert p["active"] and p["reference"] == "ABC-1"
    assert p["name"] == {1: "Trapano a percussione", 2: "Trapano a percussione"}
    assert p["id_category_default"] == 2 and p["categories"] == [2, 3]
    assert p["features"] == pairs
    assert p["quantity"] == 5
    images = shop_images(shop, pid)
    assert [i.id for i in result.state.images] == images and result.state.cover == images[0]
    assert shop.store.cover_id(pid) == images[0]
    assert result.state.stock.id_shop == 1 and result.state.languages == [1, 2]


def test_create_without_quantity_or_images_is_two_calls_with_known_facts(shop, store):
    new_sync(shop, store).facts.refresh_all()  # another process read the facts
    shop.reset_calls()
    result = new_sync(shop, store).push_product(make_spec(quantity=0, images=[]), None)
    assert result.calls == 2
    assert log(shop) == ["GET products", "POST products"]


def test_name_adapted_with_warnings(sync, shop):
    long_name = "Trapano; " + "professionale " * 15
    result = sync.push_product(make_spec(name=long_name, images=[]), None)
    sent = shop.product(result.presta_id)["name"][1]
    assert len(sent) <= 128 and ";" not in sent
    assert result.warnings == [
        "name: characters not allowed by PrestaShop replaced by spaces",
        f"name shortened from {len(long_name)} to {len(sent)} characters for PrestaShop (limit 128)",
    ]


# ---------------------------------------------------------------- change detection


def test_unchanged_push_makes_zero_calls_on_another_process(sync, shop, store):
    spec = make_spec()
    first = sync.push_product(spec, None)
    again = new_sync(shop, store).push_product(spec, ShopState.from_json(first.state.to_json()))
    assert again.calls == 0
    assert again.changed is False
    assert again.images_processed == 2
    assert again.state == first.state


def test_price_only_change_is_one_patch_on_any_process(sync, shop, store):
    first = sync.push_product(make_spec(), None)
    shop.reset_calls()
    result = new_sync(shop, store).push_product(make_spec(price=Decimal("24.50")), first.state)
    assert log(shop) == [f"PATCH products/{first.presta_id}"]  # no GET languages: the facts are shared
    assert result.calls == 1 and result.changed
    assert shop.product(first.presta_id)["price"] == Decimal("24.5")


def test_quantity_only_change_is_one_stock_put(sync, shop):
    first = sync.push_product(make_spec(), None)
    shop.reset_calls()
    result = sync.push_product(make_spec(quantity=9), first.state)
    assert log(shop) == [f"PUT stock_availables/{first.state.stock.id}"]
    assert result.calls == 1 and shop.product(first.presta_id)["quantity"] == 9


def test_features_only_change_patches_the_association(sync, shop):
    pairs = features_in(shop)
    first = sync.push_product(make_spec(feature_values=pairs), None)
    shop.reset_calls()
    result = sync.push_product(make_spec(feature_values=pairs[1:]), first.state)
    assert log(shop) == [f"PATCH products/{first.presta_id}"]
    assert result.features_processed == 1
    assert shop.product(first.presta_id)["features"] == pairs[1:]
    assert shop.product(first.presta_id)["name"][1] == "Trapano a percussione"  # untouched


# ---------------------------------------------------------------- adopt


def test_adopts_existing_product_with_exact_reference(sync, shop):
    pid = seed(shop, "ABC-1")
    result = sync.push_product(make_spec(), None)
    assert result.adopted and result.presta_id == pid
    assert [c for c in log(shop) if c == "POST products"] == ["POST products"]  # only the seed
    product = shop.product(pid)
    assert product["name"][1] == "Trapano a percussione" and product["quantity"] == 5
    assert len(shop_images(shop, pid)) == 2 and shop.store.cover_id(pid) == result.state.images[0].id
    assert len(shop.products()) == 1


def test_does_not_adopt_a_different_case_reference(sync, shop):
    other = seed(shop, "abc-1")
    result = sync.push_product(make_spec(images=[]), None)
    assert not result.adopted
    assert result.presta_id != other
    assert len(shop.products()) == 2


# ---------------------------------------------------------------- images


def test_unchanged_image_not_reuploaded_removed_deleted_new_added(sync, shop):
    first = sync.push_product(make_spec(images=[image(RED), image(GREEN)]), None)
    pid = first.presta_id
    red_id, green_id = (t.id for t in first.state.images)
    shop.reset_calls()
    result = sync.push_product(make_spec(images=[image(RED), image(BLUE)]), first.state)
    assert log(shop) == [f"DELETE images/products/{pid}/{green_id}", f"POST images/products/{pid}"]
    assert shop_images(shop, pid) == [red_id, result.state.images[1].id]
    assert shop.store.cover_id(pid) == red_id
    assert [i.sha256 for i in result.state.images] == [image(RED).sha256, image(BLUE).sha256]


def test_cover_change_sets_default_image(sync, shop):
    first = sync.push_product(make_spec(images=[image(RED), image(GREEN)]), None)
    pid = first.presta_id
    red_id, green_id = (t.id for t in first.state.images)
    shop.reset_calls()
    result = sync.push_product(make_spec(images=[image(GREEN)]), first.state)
    assert log(shop) == [f"DELETE images/products/{pid}/{red_id}", f"PATCH products/{pid}"]
    assert shop.store.cover_id(pid) == green_id and result.state.cover == green_id
    assert sync.push_product(make_spec(images=[image(GREEN)]), result.state).calls == 0


def test_refused_image_goes_to_image_errors(sync, shop):
    spec = make_spec(images=[image(RED), image(TRUNCATED, "broken.jpg"), image(GREEN)])
    result = sync.push_product(spec, None)
    assert result.images_processed == 2
    assert [(e.index, e.file_name) for e in result.image_errors] == [(1, "broken.jpg")]
    assert "[76]" in result.image_errors[0].message
    assert shop_images(shop, result.presta_id) == [t.id for t in result.state.images]  # the leftover row removed
    # not retried while the bytes are the same: an unchanged push stays free and still reports it
    again = sync.push_product(spec, result.state)
    assert again.calls == 0 and len(again.image_errors) == 1
    # force tries it again (the shop still refuses it)
    forced = sync.push_product(spec, again.state, force=True)
    assert len(forced.image_errors) == 1 and forced.images_processed == 2


def test_image_upload_outage_reported_and_retried_next_push(sync, shop):
    spec = make_spec(images=[image(RED), image(GREEN)])
    first = sync.push_product(make_spec(images=[]), None)
    shop.fail_next(1, 503)
    result = sync.push_product(spec, first.state)
    assert [e.index for e in result.image_errors] == [0] and "503" in result.image_errors[0].message
    assert result.image_errors[0].retryable
    assert log(shop).count(f"POST images/products/{first.presta_id}") == 2  # a POST is never retried blindly
    again = sync.push_product(spec, result.state)
    assert again.image_errors == [] and again.images_processed == 2
    assert [i.sha256 for i in again.state.images] == [image(RED).sha256, image(GREEN).sha256]
    assert shop.store.cover_id(first.presta_id) == again.state.images[0].id  # the cover follows the spec


def test_unreadable_image_is_reported_not_raised(sync, shop):
    result = sync.push_product(make_spec(images=[image(b"not an image at all", "x.jpg"), image(RED)]), None)
    assert result.images_processed == 1
    assert result.image_errors[0].index == 0 and "not a readable image" in result.image_errors[0].message


def test_large_image_downscaled_with_warning(sync, shop):
    big = jpeg(size=(2400, 1600))
    result = sync.push_product(make_spec(images=[image(big, "big.jpg")]), None)
    assert result.images_processed == 1
    assert any("re-encoded" in w and "2400x1600" in w for w in result.warnings)
    stored = shop.store.images[result.state.images[0].id]
    assert stored["filename"] == "big.jpg"
    assert max(Image.open(io.BytesIO(stored["original"])).size) == 1200


def test_image_over_the_shops_stated_maximum_is_fitted_and_remembered(shop, store):
    """The service's own limit is above the shop's: the shop answers code 72 with its maximum, the image is
    re-encoded to fit, uploaded again at once, and the maximum is remembered (no second refusal)."""
    shop.webservice.image_max_bytes = 300_000
    sync = new_sync(shop, store, image_max_bytes=10_000_000, image_max_pixels=4000)
    big = noisy_jpeg((900, 700))
    assert len(big) > 300_000
    result = sync.push_product(make_spec(images=[image(big, "big.jpg")], quantity=0), None)
    assert result.image_errors == []
    assert any("re-encoded" in w and "300000 bytes" in w for w in result.warnings)
    uploaded = shop.store.images[result.state.images[0].id]["original"]
    assert len(uploaded) <= 300_000 and Image.open(io.BytesIO(uploaded)).format == "JPEG"
    assert log(shop).count(f"POST images/products/{result.presta_id}") == 2  # refused once, then fitted
    # remembered for the shop (in the shared store): another process fits the next image at once
    shop.reset_calls()
    other = new_sync(shop, store, image_max_bytes=10_000_000, image_max_pixels=4000)
    second = other.push_product(make_spec(reference="ABC-2", images=[image(noisy_jpeg((900, 700)))], quantity=0), None)
    assert second.image_errors == [] and log(shop).count(f"POST images/products/{second.presta_id}") == 1


def test_image_bytes_read_only_for_images_uploaded(sync, shop):
    reads: list[str] = []

    def lazy(content: bytes, name: str) -> ImageSpec:
        def load() -> bytes:
            reads.append(name)
            return content

        return ImageSpec(sha256=hashlib.sha256(content).hexdigest(), file_name=name, loader=load)

    first = sync.push_product(make_spec(images=[lazy(RED, "red"), lazy(GREEN, "green")]), None)
    assert reads == ["red", "green"]
    sync.push_product(make_spec(images=[lazy(RED, "red"), lazy(BLUE, "blue")]), first.state)
    assert reads == ["red", "green", "blue"]


# ---------------------------------------------------------------- force / verify / drift


def test_force_restores_a_product_deleted_in_the_shop(sync, shop):
    first = sync.push_product(make_spec(), None)
    shop.delete_product_by_hand(first.presta_id)
    result = sync.push_product(make_spec(), first.state, force=True)
    assert result.presta_id != first.presta_id and shop.product(result.presta_id) is not None
    assert result.images_processed == 2 and len(shop_images(shop, result.presta_id)) == 2
    assert result.changed


def test_force_refinds_by_reference(sync, shop):
    first = sync.push_product(make_spec(images=[]), None)
    stale = first.state.copy()
    stale.presta_id = 999
    result = sync.push_product(make_spec(images=[]), stale, force=True)
    assert result.presta_id == first.presta_id and result.adopted
    assert len(shop.products()) == 1


def test_force_pushes_every_part(sync, shop):
    first = sync.push_product(make_spec(), None)
    shop.reset_calls()
    result = sync.push_product(make_spec(), first.state, force=True)
    calls = log(shop)
    assert f"PATCH products/{first.presta_id}" in calls and f"PUT stock_availables/{first.state.stock.id}" in calls
    assert f"POST images/products/{first.presta_id}" not in calls  # unchanged bytes are still not re-uploaded
    assert result.changed


def test_verify_unchanged_shop_writes_nothing(sync, shop):
    first = sync.push_product(make_spec(), None)
    shop.reset_calls()
    result = sync.push_product(make_spec(), first.state, verify=True)
    assert log(shop) == [f"GET products/{first.presta_id}", "GET stock_availables"]
    assert result.changed is False


def test_verify_catches_manual_edits(sync, shop):
    first = sync.push_product(make_spec(), None)
    shop.edit_product_by_hand(first.presta_id, price="5", quantity=1)
    result = sync.push_product(make_spec(), first.state, verify=True)
    assert result.changed
    assert shop.product(first.presta_id)["price"] == Decimal("19.9")
    assert shop.product(first.presta_id)["quantity"] == 5


def test_dry_run_and_verify_see_the_same_differences(sync, shop):
    first = sync.push_product(make_spec(), None)
    shop.edit_product_by_hand(first.presta_id, price="5", quantity=1)
    assert sync.diff_product(make_spec(), first.state) == ["price differs", "quantity 1 → 5"]
    assert shop.product(first.presta_id)["price"] == Decimal("5")  # the dry run wrote nothing


def test_bulk_copies_verify_without_reading_each_product(sync, shop):
    results = [sync.push_product(make_spec(reference=f"B-{i}", images=[]), None) for i in range(5)]
    shop.edit_product_by_hand(results[2].presta_id, name="Edited by hand")
    shop.delete_product_by_hand(results[4].presta_id)
    shop.reset_calls()
    copies = sync.read_copies([r.presta_id for r in results], page=3)
    assert log(shop) == ["GET products", "GET stock_availables"] * 2  # 2 calls per page
    assert set(copies) == {r.presta_id for r in results[:4]}
    shop.reset_calls()
    pushed = [
        sync.push_product(
            make_spec(reference=f"B-{i}", images=[]),
            r.state,
            verify=True,
            shop_copy=copies.get(r.presta_id),
            copy_read=True,
        )
        for i, r in enumerate(results)
    ]
    assert [p.changed for p in pushed] == [False, False, True, False, True]
    assert shop.product(results[2].presta_id)["name"][1] == "Trapano a percussione"
    assert shop.product_by_reference("B-4") is not None  # recreated
    assert not any(c.startswith("GET products/") for c in log(shop))


def test_plain_push_restores_deleted_product_too(sync, shop):
    first = sync.push_product(make_spec(images=[]), None)
    shop.delete_product_by_hand(first.presta_id)
    result = sync.push_product(make_spec(images=[], price=Decimal("1")), first.state)
    assert shop.product(result.presta_id) is not None and result.presta_id != first.presta_id


# ---------------------------------------------------------------- errors


def test_permanent_error_raises_with_progress(sync, shop):
    shop.fail_next(1, 400, "")  # the lookup by reference is refused
    with pytest.raises(PushFailed) as err:
        sync.push_product(make_spec(), None)
    assert isinstance(err.value.error, RemoteRejected) and err.value.state is None


def test_failure_after_create_carries_the_partial_state(sync, shop, monkeypatch):
    answer = shop.api_request

    def stock_down(method, path, query, headers, body):
        if path.endswith("/stock_availables"):
            return Response(500, b"", {})
        return answer(method, path, query, headers, body)

    monkeypatch.setattr(shop, "api_request", stock_down)
    with pytest.raises(PushFailed) as err:
        sync.push_product(make_spec(images=[]), None)
    created = shop.product_by_reference("ABC-1")
    assert created is not None  # the POST went through, the stock read failed (after its retries)
    assert err.value.state is not None and err.value.state.presta_id == created["id"]
    assert err.value.error.status == 500


# ---------------------------------------------------------------- resolution


def test_resolve_features_lists_once_creates_each_once(sync, shop):
    features_in(shop, names=("Potenza",), values=("1000 W",))
    shop.reset_calls()
    wanted = [FeatureSpec("Tensione", "230 V", 1), FeatureSpec("Potenza", "1500 W", 0)]
    new = resolve(sync.client, ShopIds(), features=wanted, languages=[1, 2])
    assert log(shop) == [
        "GET product_features",  # one listing of every feature
        "POST product_features",  # Tensione
        "GET product_feature_values",  # values of features that existed (Potenza)
        "POST product_feature_values",
        "POST product_feature_values",
    ]
    potenza, tensione = new.features["Potenza"], new.features["Tensione"]
    assert shop.feature_value_text(new.values[ValueKey(potenza, "1500 W")]) == "1500 W"
    assert shop.feature_value_text(new.values[ValueKey(tensione, "230 V")]) == "230 V"
    assert new.pairs(wanted) == [
        (potenza, new.values[ValueKey(potenza, "1500 W")]),
        (tensione, new.values[ValueKey(tensione, "230 V")]),
    ]
    shop.reset_calls()
    assert resolve(sync.client, new, features=wanted) == ShopIds()  # everything known: no call
    assert shop.calls == []


def test_resolve_many_products_each_shared_thing_once(sync, shop):
    existing = resolve(sync.client, ShopIds(), manufacturers=["ACME"])
    shop.reset_calls()
    brands = ["Nuova; Marca", "nuova marca", "acme", "Other"] * 10
    features = [FeatureSpec("Colore", f"Rosso {i % 3}", 0) for i in range(30)]
    new = resolve(sync.client, ShopIds(), manufacturers=brands, features=features, languages=[1, 2])
    calls = log(shop)
    assert calls.count("GET manufacturers") == 1 and calls.count("POST manufacturers") == 2
    assert calls.count("GET product_features") == 1 and calls.count("POST product_features") == 1
    assert calls.count("POST product_feature_values") == 3 and "GET product_feature_values" not in calls
    assert new.manufacturer("ACME") == existing.manufacturer("acme")
    assert shop.manufacturers_named("Nuova Marca")[0]["id"] == new.manufacturer("Nuova; Marca")


# ---------------------------------------------------------------- facts


def test_facts_shared_between_processes_and_refreshed_on_a_category_miss(shop):
    store = MemoryStore()
    first = new_sync(shop, store)
    assert first.facts.unknown_categories([2, 3, 500]) == [500]  # read just now: not read again
    assert first.facts.languages() == [1, 2]
    shop.reset_calls()
    other = new_sync(shop, store)
    assert other.facts.unknown_categories([2]) == [] and other.facts.languages() == [1, 2]
    assert shop.calls == []  # another process: nothing read again


# ---------------------------------------------------------------- delete


def test_delete_product_by_id_then_reference(sync, shop):
    first = sync.push_product(make_spec(images=[]), None)
    assert sync.delete_product(reference="ABC-1", presta_id=first.presta_id) == first.presta_id
    assert sync.delete_product(reference="ABC-1", presta_id=first.presta_id) is None  # already gone
    pid = seed(shop, "ABC-1")
    assert sync.delete_product(reference="ABC-1", presta_id=None) == pid
    seed(shop, "abc-1")
    assert sync.delete_product(reference="ABC-1", presta_id=None) is None  # not an exact match
