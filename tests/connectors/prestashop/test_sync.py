"""ShopSync.push_product and friends against a small stateful stand-in for the Webservice.

The stand-in (`FakeShop`, `responses` callbacks) answers with bodies shaped like PrestaShop 8's
(every value in CDATA, multilang `<language id>` nodes, 404 with an empty body for a missing id,
image uploads answered 200) and reproduces the behaviours the client must cope with: reference
filters that match case-insensitively, the first image becoming the cover, a refused image
leaving an image row behind.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import threading
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from lxml import etree
from PIL import Image

from connectors.http import RemoteRejected
from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.sync import ShopSync
from connectors.prestashop.types import FeatureSpec, ImageSpec, ProductSpec

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prestashop"
BASE = "http://shop.test"
API = BASE + "/api/"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def jpeg(color=(200, 30, 30), size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def image(content: bytes, name="photo.jpg") -> ImageSpec:
    return ImageSpec(sha256=hashlib.sha256(content).hexdigest(), file_name=name, content=content)


RED, GREEN, BLUE = jpeg((200, 0, 0)), jpeg((0, 200, 0)), jpeg((0, 0, 200))
REFUSED = jpeg((10, 20, 30), size=(50, 50))  # readable here, refused by the shop in the test


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
        manufacturer_id=5,
        images=[image(RED, "red.jpg"), image(GREEN, "green.jpg")],
        feature_values=[(3, 21), (8, 25)],
    )
    values.update(overrides)
    return ProductSpec(**values)


def cdata(parent, tag, text, **attrib):
    el = etree.SubElement(parent, tag, **attrib)
    if text not in (None, ""):
        el.text = etree.CDATA(str(text))
    return el


class FakeShop:
    """Just enough of PrestaShop 8's Webservice for the sync flows, on `responses`."""

    def __init__(self, rsps: responses.RequestsMock):
        self.products: dict[int, dict] = {}
        self.stock: dict[int, dict] = {}
        self.images: dict[int, list[int]] = {}
        self.cover: dict[int, int | None] = {}
        self.refuse_bytes: set[bytes] = set()
        self.image_outages = 0  # next N image uploads answer 503 (after saving the row, like a crash)
        self.ids = itertools.count(42)
        self.image_ids = itertools.count(31)
        self.lock = threading.Lock()
        self.log: list[str] = []
        cb = rsps.add_callback
        cb(responses.GET, API + "languages", callback=self.languages)
        cb(responses.GET, re.compile(API + r"products(\?.*)?$"), callback=self.list_products)
        cb(responses.GET, re.compile(API + r"products/\d+$"), callback=self.get_product)
        cb(responses.POST, API + "products", callback=self.post_product)
        cb(responses.PATCH, re.compile(API + r"products/\d+$"), callback=self.patch_product)
        cb(responses.DELETE, re.compile(API + r"products/\d+$"), callback=self.delete_product)
        cb(responses.GET, re.compile(API + r"stock_availables\?.*$"), callback=self.list_stock)
        cb(responses.PUT, re.compile(API + r"stock_availables/\d+$"), callback=self.put_stock)
        cb(responses.POST, re.compile(API + r"images/products/\d+$"), callback=self.post_image)
        cb(responses.GET, re.compile(API + r"images/products/\d+$"), callback=self.list_images)
        cb(responses.DELETE, re.compile(API + r"images/products/\d+/\d+$"), callback=self.delete_image)

    # helpers
    def _note(self, request):
        path = urlparse(request.url).path.replace("/api/", "")
        with self.lock:
            self.log.append(f"{request.method} {path}")

    @staticmethod
    def _id(request) -> int:
        return int(re.search(r"/(\d+)(?:/\d+)?$", urlparse(request.url).path).group(1))

    @staticmethod
    def _error(status, code, message):
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n'
            f"<errors>\n<error>\n<code><![CDATA[{code}]]></code>\n<message><![CDATA[{message}]]></message>\n"
            "</error>\n</errors>\n</prestashop>\n"
        )
        return status, {}, body

    def _render(self, pid: int) -> str:
        p = self.products[pid]
        root = etree.Element("prestashop", nsmap={"xlink": "http://www.w3.org/1999/xlink"})
        node = etree.SubElement(root, "product")
        cdata(node, "id", pid)
        cdata(node, "id_default_image", self.cover.get(pid) or "", notFilterable="true")
        cdata(node, "manufacturer_name", "ACME Tools", notFilterable="true")
        cdata(node, "quantity", self.stock[pid]["quantity"], notFilterable="true")
        for name, value in p["fields"].items():
            if isinstance(value, dict):
                el = etree.SubElement(node, name)
                for lang, text in value.items():
                    cdata(el, "language", text, id=str(lang))
            elif name == "price":
                cdata(node, name, f"{Decimal(value):.6f}")
            else:
                cdata(node, name, value)
        assoc = etree.SubElement(node, "associations")
        cats = etree.SubElement(assoc, "categories", nodeType="category", api="categories")
        for cid in p["categories"]:
            cdata(etree.SubElement(cats, "category"), "id", cid)
        imgs = etree.SubElement(assoc, "images", nodeType="image", api="images")
        for iid in self.images.get(pid, []):
            cdata(etree.SubElement(imgs, "image"), "id", iid)
        feats = etree.SubElement(assoc, "product_features", nodeType="product_feature", api="product_features")
        for fid, vid in p["features"]:
            f = etree.SubElement(feats, "product_feature")
            cdata(f, "id", fid)
            cdata(f, "id_feature_value", vid)
        stock = etree.SubElement(assoc, "stock_availables", nodeType="stock_available", api="stock_availables")
        s = etree.SubElement(stock, "stock_available")
        cdata(s, "id", self.stock[pid]["id"])
        cdata(s, "id_product_attribute", 0)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()

    def _apply(self, pid: int, product: etree._Element, patch: bool):
        p = self.products[pid]
        for el in product:
            if el.tag in ("id",):
                continue
            if el.tag in ("manufacturer_name", "quantity"):
                raise AssertionError(f"read-only node {el.tag} sent")
            if el.tag == "associations":
                for assoc in el:
                    if assoc.tag == "categories":
                        p["categories"] = [int(c.findtext("id")) for c in assoc]
                    elif assoc.tag == "product_features":
                        p["features"] = [(int(f.findtext("id")), int(f.findtext("id_feature_value"))) for f in assoc]
            elif el.tag == "id_default_image":
                self.cover[pid] = int(el.text)
            elif len(el):
                p["fields"][el.tag] = {int(lang.get("id")): lang.text or "" for lang in el}
            else:
                p["fields"][el.tag] = el.text or ""

    def languages(self, request):
        self._note(request)
        return 200, {}, fixture("languages.xml")

    # products
    def list_products(self, request):
        self._note(request)
        query = parse_qs(urlparse(request.url).query)
        wanted = query["filter[reference]"][0].strip("[]%").casefold()  # MySQL collation: case-insensitive
        rows = "".join(
            f"\t<product>\n\t<id><![CDATA[{pid}]]></id>\n\t<reference><![CDATA[{p['fields'].get('reference', '')}]]>"
            "</reference>\n</product>\n"
            for pid, p in sorted(self.products.items())
            if p["fields"].get("reference", "").casefold() == wanted
        )
        return (
            200,
            {},
            f'<?xml version="1.0" encoding="UTF-8"?>\n<prestashop><products>\n{rows}</products>\n</prestashop>\n',
        )

    def get_product(self, request):
        self._note(request)
        pid = self._id(request)
        if pid not in self.products:
            return 404, {}, ""
        return 200, {}, self._render(pid)

    def post_product(self, request):
        self._note(request)
        product = etree.fromstring(request.body, PARSER).find("product")
        assert product.find("id") is None
        with self.lock:
            pid = next(self.ids)
        self.products[pid] = {"fields": {}, "categories": [], "features": []}
        self.stock[pid] = {"id": pid + 1000, "quantity": 0, "id_shop": 1}
        self.cover[pid] = None
        self._apply(pid, product, patch=False)
        return 201, {}, self._render(pid)

    def patch_product(self, request):
        self._note(request)
        product = etree.fromstring(request.body, PARSER).find("product")
        pid = int(product.findtext("id"))
        if pid not in self.products:
            return self._error(404, 92, "Invalid ID")
        self._apply(pid, product, patch=True)
        return 200, {}, self._render(pid)

    def delete_product(self, request):
        self._note(request)
        pid = self._id(request)
        if self.products.pop(pid, None) is None:
            return self._error(404, 87, f"Product {pid} does not exist")
        self.stock.pop(pid, None)
        self.images.pop(pid, None)
        return 200, {}, ""

    # stock
    def list_stock(self, request):
        self._note(request)
        pid = int(parse_qs(urlparse(request.url).query)["filter[id_product]"][0].strip("[]"))
        body = fixture("stock_availables.xml")
        if pid not in self.stock:
            return (
                200,
                {},
                '<?xml version="1.0" encoding="UTF-8"?>\n<prestashop><stock_availables>\n</stock_availables></prestashop>',
            )
        row = self.stock[pid]
        body = body.replace("<![CDATA[77]]>", f"<![CDATA[{row['id']}]]>").replace(
            "<![CDATA[42]]>", f"<![CDATA[{pid}]]>"
        )
        body = body.replace("<quantity><![CDATA[0]]>", f"<quantity><![CDATA[{row['quantity']}]]>")
        return 200, {}, body

    def put_stock(self, request):
        self._note(request)
        sent = etree.fromstring(request.body, PARSER).find("stock_available")
        fields = {el.tag: el.text for el in sent}
        assert fields["id_shop"] == "1", "a stock PUT without id_shop hides the product"
        for required in ("id_product", "id_product_attribute", "quantity", "depends_on_stock", "out_of_stock"):
            assert fields.get(required) not in (None, ""), required
        pid = int(fields["id_product"])
        self.stock[pid]["quantity"] = int(fields["quantity"])
        return 200, {}, fixture("stock_available_put.xml")

    # images
    def post_image(self, request):
        self._note(request)
        pid = self._id(request)
        assert b'name="image"' in request.body
        if pid not in self.products:
            return self._error(400, 76, f"Product {pid} does not exist")
        with self.lock:
            iid = next(self.image_ids)
        self.images.setdefault(pid, []).append(iid)  # the shop adds the row before checking the bytes
        is_cover = self.cover.get(pid) is None
        if is_cover:
            self.cover[pid] = iid
        if self.image_outages:
            self.image_outages -= 1
            return 503, {}, ""
        if any(bad in request.body for bad in self.refuse_bytes):
            return self._error(400, 76, "Bad image : Image format not recognized")
        body = fixture("image_uploaded.xml").replace("<![CDATA[31]]>", f"<![CDATA[{iid}]]>")
        body = body.replace("<![CDATA[42]]>", f"<![CDATA[{pid}]]>")
        if not is_cover:
            body = body.replace("<cover><![CDATA[1]]></cover>", "<cover></cover>")
        return 200, {}, body

    def list_images(self, request):
        self._note(request)
        pid = self._id(request)
        ids = self.images.get(pid) or []
        if not ids:
            return 404, {}, ""
        rows = "".join(f'\t<declination id="{i}" xlink:href="{API}images/products/{pid}/{i}"/>\n' for i in ids)
        return (
            200,
            {},
            (
                '<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n'
                f'<image id="{pid}">\n{rows}</image>\n</prestashop>\n'
            ),
        )

    def delete_image(self, request):
        self._note(request)
        path = urlparse(request.url).path
        pid, iid = (int(x) for x in re.search(r"/(\d+)/(\d+)$", path).groups())
        if iid not in self.images.get(pid, []):
            return self._error(400, 57, "This image id does not exist")
        self.images[pid].remove(iid)
        if self.cover.get(pid) == iid:
            self.cover[pid] = None  # the shop does not elect a new cover
        return 200, {}, ""

    def seed(self, reference: str, **fields) -> int:
        """A product created by hand in the shop (not by us)."""
        pid = next(self.ids)
        self.products[pid] = {
            "fields": {"reference": reference, "price": "1", **fields},
            "categories": [2],
            "features": [],
        }
        self.stock[pid] = {"id": pid + 1000, "quantity": 0, "id_shop": 1}
        self.cover[pid] = None
        return pid


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def shop(rsps):
    return FakeShop(rsps)


def new_client() -> PrestaShopClient:
    client = PrestaShopClient(BASE, "K" * 32)
    client._sleep = lambda s: None
    return client


@pytest.fixture
def client():
    return new_client()


@pytest.fixture
def sync(client):
    return ShopSync(client, default_category_id=2, image_max_pixels=1200)


def fresh_sync() -> ShopSync:
    return ShopSync(new_client(), default_category_id=2)


# ---------------------------------------------------------------- create


def test_create_new_product_minimal_calls(sync, shop):
    result = sync.push_product(make_spec(), None)
    assert shop.log == [
        "GET products",  # look up by reference before creating
        "GET languages",
        "POST products",
        "GET stock_availables",
        "PUT stock_availables/1042",
        "POST images/products/42",
        "POST images/products/42",
    ]
    assert result.calls == 7
    assert (result.presta_id, result.changed, result.adopted) == (42, True, False)
    assert result.images_processed == 2 and result.features_processed == 2
    assert result.image_errors == [] and result.warnings == []
    p = shop.products[42]
    assert p["fields"]["state"] == "1" and p["fields"]["active"] == "1"
    assert p["fields"]["name"] == {1: "Trapano a percussione", 2: "Trapano a percussione"}
    assert p["fields"]["link_rewrite"][2] == "trapano-a-percussione"
    assert p["fields"]["id_category_default"] == "2"
    assert p["categories"] == [2, 3]
    assert p["features"] == [(3, 21), (8, 25)]
    assert shop.stock[42]["quantity"] == 5
    assert shop.cover[42] == 31
    state = result.state
    assert state["presta_id"] == 42 and state["languages"] == [1, 2]
    assert [i["id"] for i in state["images"]] == [31, 32] and state["cover"] == 31
    assert state["stock"]["id"] == 1042 and state["stock"]["id_shop"] == 1


def test_create_without_quantity_or_images_is_two_calls_on_a_warm_client(sync, shop, client):
    client.languages()
    result = sync.push_product(make_spec(quantity=0, images=[]), None)
    assert result.calls == 2
    assert shop.log[-2:] == ["GET products", "POST products"]


def test_name_adapted_with_warnings(sync, shop):
    long_name = "Trapano; " + "professionale " * 15
    result = sync.push_product(make_spec(name=long_name, images=[]), None)
    sent = shop.products[42]["fields"]["name"][1]
    assert len(sent) <= 128 and ";" not in sent
    assert result.warnings == [
        "name: characters not allowed by PrestaShop replaced by spaces",
        f"name shortened from {len(long_name)} to {len(sent)} characters for PrestaShop (limit 128)",
    ]


# ---------------------------------------------------------------- change detection


def test_unchanged_push_makes_zero_calls(sync, shop):
    spec = make_spec()
    first = sync.push_product(spec, None)
    again = fresh_sync().push_product(spec, first.state)  # a fresh process: nothing cached
    assert again.calls == 0
    assert again.changed is False
    assert again.images_processed == 2 and again.features_processed == 2
    assert again.state == first.state


def test_price_only_change_is_one_patch(sync, shop):
    first = sync.push_product(make_spec(), None)
    before = len(shop.log)
    result = sync.push_product(make_spec(price=Decimal("24.50")), first.state)
    assert result.calls == 1 and result.changed
    assert shop.log[before:] == ["PATCH products/42"]
    assert shop.products[42]["fields"]["price"] == "24.5"
    # a fresh client needs the languages once more: still at most 2 calls
    third = fresh_sync().push_product(make_spec(price=Decimal("25")), result.state)
    assert third.calls <= 2


def test_quantity_only_change_is_one_stock_put(sync, shop):
    first = sync.push_product(make_spec(), None)
    before = len(shop.log)
    result = sync.push_product(make_spec(quantity=9), first.state)
    assert shop.log[before:] == ["PUT stock_availables/1042"]
    assert result.calls == 1 and shop.stock[42]["quantity"] == 9


def test_features_only_change_patches_the_association(sync, shop, rsps):
    first = sync.push_product(make_spec(), None)
    result = sync.push_product(make_spec(feature_values=[(8, 25)]), first.state)
    assert result.calls == 1 and result.features_processed == 1
    assert shop.products[42]["features"] == [(8, 25)]
    body = etree.fromstring(rsps.calls[-1].request.body, PARSER)
    assert body.find("product/name") is None  # only the association was sent
    assert body.find("product/associations/product_features") is not None


# ---------------------------------------------------------------- adopt


def test_adopts_existing_product_with_exact_reference(sync, shop):
    pid = shop.seed("ABC-1")
    shop.images[pid] = [900]  # an image put there by hand
    result = sync.push_product(make_spec(), None)
    assert result.adopted and result.presta_id == pid
    assert "POST products" not in shop.log
    assert shop.products[pid]["fields"]["state"] == "1"
    assert shop.images[pid] == [31, 32] and shop.cover[pid] == 31
    assert shop.stock[pid]["quantity"] == 5
    assert len(shop.products) == 1


def test_does_not_adopt_a_different_case_reference(sync, shop):
    other = shop.seed("abc-1")
    result = sync.push_product(make_spec(images=[]), None)
    assert not result.adopted
    assert result.presta_id != other
    assert len(shop.products) == 2


# ---------------------------------------------------------------- images


def test_unchanged_image_not_reuploaded_removed_deleted_new_added(sync, shop):
    first = sync.push_product(make_spec(images=[image(RED), image(GREEN)]), None)
    before = len(shop.log)
    result = sync.push_product(make_spec(images=[image(RED), image(BLUE)]), first.state)
    assert shop.log[before:] == ["DELETE images/products/42/32", "POST images/products/42"]
    assert shop.images[42] == [31, 33] and shop.cover[42] == 31
    assert result.images_processed == 2
    assert [i["sha256"] for i in result.state["images"]] == [image(RED).sha256, image(BLUE).sha256]


def test_cover_change_sets_default_image(sync, shop):
    first = sync.push_product(make_spec(images=[image(RED), image(GREEN)]), None)
    before = len(shop.log)
    result = sync.push_product(make_spec(images=[image(GREEN)]), first.state)
    assert shop.log[before:] == ["DELETE images/products/42/31", "PATCH products/42"]
    assert shop.cover[42] == 32 and result.state["cover"] == 32
    assert sync.push_product(make_spec(images=[image(GREEN)]), result.state).calls == 0


def test_refused_image_goes_to_image_errors(sync, shop):
    shop.refuse_bytes.add(REFUSED[-64:])
    spec = make_spec(images=[image(RED), image(REFUSED, "broken.jpg"), image(GREEN)])
    result = sync.push_product(spec, None)
    assert result.presta_id == 42 and result.images_processed == 2
    assert [(e.index, e.file_name) for e in result.image_errors] == [(1, "broken.jpg")]
    assert "[76]" in result.image_errors[0].message
    assert shop.images[42] == [31, 33]  # the row the refusal left behind was removed
    # not retried while the bytes are the same: an unchanged push stays free and still reports it
    again = sync.push_product(spec, result.state)
    assert again.calls == 0 and len(again.image_errors) == 1
    # force tries it again
    shop.refuse_bytes.clear()
    forced = sync.push_product(spec, again.state, force=True)
    assert forced.image_errors == [] and forced.images_processed == 3


def test_image_upload_outage_reported_and_retried_next_push(sync, shop):
    shop.image_outages = 1
    spec = make_spec(images=[image(RED), image(GREEN)])
    result = sync.push_product(spec, None)
    assert [e.index for e in result.image_errors] == [0] and "503" in result.image_errors[0].message
    assert shop.log.count("POST images/products/42") == 2  # a POST is never retried blindly
    assert shop.images[42] == [32]  # the half-saved row was cleaned up
    again = sync.push_product(spec, result.state)
    assert again.image_errors == [] and again.images_processed == 2
    assert [i["sha256"] for i in again.state["images"]] == [image(RED).sha256, image(GREEN).sha256]
    assert shop.cover[42] == again.state["images"][0]["id"]  # the cover follows the spec's first image


def test_unreadable_image_is_reported_not_raised(sync, shop):
    result = sync.push_product(make_spec(images=[image(b"not an image at all", "x.jpg"), image(RED)]), None)
    assert result.images_processed == 1
    assert result.image_errors[0].index == 0 and "not a readable image" in result.image_errors[0].message


def test_large_image_downscaled_with_warning(sync, shop, rsps):
    big = jpeg(size=(2400, 1600))
    result = sync.push_product(make_spec(images=[image(big, "big.jpg")]), None)
    assert result.images_processed == 1
    assert any("resized" in w and "2400x1600" in w for w in result.warnings)
    upload = next(c for c in rsps.calls if c.request.method == "POST" and "images" in c.request.url)
    assert b"big.jpg" in upload.request.body


# ---------------------------------------------------------------- force / verify / drift


def test_force_restores_a_product_deleted_in_the_shop(sync, shop):
    first = sync.push_product(make_spec(), None)
    del shop.products[42]
    shop.images.pop(42)
    result = sync.push_product(make_spec(), first.state, force=True)
    assert result.presta_id != 42 and result.presta_id in shop.products
    assert result.images_processed == 2 and shop.images[result.presta_id] == [33, 34]
    assert result.changed


def test_force_refinds_by_reference(sync, shop):
    first = sync.push_product(make_spec(images=[]), None)
    stale = dict(first.state, presta_id=999)
    result = sync.push_product(make_spec(images=[]), stale, force=True)
    assert result.presta_id == 42 and result.adopted
    assert len(shop.products) == 1


def test_force_pushes_every_part(sync, shop):
    first = sync.push_product(make_spec(), None)
    before = len(shop.log)
    result = sync.push_product(make_spec(), first.state, force=True)
    log = shop.log[before:]
    assert "PATCH products/42" in log and "PUT stock_availables/1042" in log
    assert "POST images/products/42" not in log  # unchanged bytes are still not re-uploaded
    assert result.changed


def test_verify_unchanged_shop_writes_nothing(sync, shop):
    first = sync.push_product(make_spec(), None)
    before = len(shop.log)
    result = sync.push_product(make_spec(), first.state, verify=True)
    assert shop.log[before:] == ["GET products/42", "GET stock_availables"]
    assert result.changed is False


def test_verify_catches_manual_edits(sync, shop):
    first = sync.push_product(make_spec(), None)
    shop.products[42]["fields"]["price"] = "5"
    shop.stock[42]["quantity"] = 1
    result = sync.push_product(make_spec(), first.state, verify=True)
    assert result.changed
    assert Decimal(shop.products[42]["fields"]["price"]) == Decimal("19.9")
    assert shop.stock[42]["quantity"] == 5


def test_plain_push_restores_deleted_product_too(sync, shop):
    first = sync.push_product(make_spec(images=[]), None)
    del shop.products[42]
    result = sync.push_product(make_spec(images=[], price=Decimal("1")), first.state)
    assert result.presta_id in shop.products and result.presta_id != 42


# ---------------------------------------------------------------- errors


def test_permanent_error_raises_with_progress(sync, shop, rsps):
    rsps.replace(responses.POST, API + "products", status=400, body=fixture("error_85.xml"))
    with pytest.raises(RemoteRejected) as err:
        sync.push_product(make_spec(), None)
    assert "[85]" in str(err.value)
    assert err.value.push_state is None


# ---------------------------------------------------------------- lookups


def test_resolve_features_cache(rsps):
    rsps.get(API + "languages", body=fixture("languages.xml"))
    # One listing of every feature (the shop has Potenza = 3), not one lookup per name.
    rsps.get(
        API + "product_features",
        match=[responses.matchers.query_param_matcher({"display": "[id,name]"})],
        body=fixture("product_features_by_name.xml"),
    )
    rsps.post(API + "product_features", body=fixture("product_feature_created.xml"))
    rsps.get(
        API + "product_feature_values",
        match=[
            responses.matchers.query_param_matcher(
                {"filter[id_feature]": "[3]", "filter[value]": "[1500 W]", "display": "full"}
            )
        ],
        body=fixture("product_feature_values_list.xml"),
    )
    rsps.get(
        API + "product_feature_values", body=fixture("products_empty.xml").replace("products", "product_feature_values")
    )
    rsps.post(API + "product_feature_values", body=fixture("product_feature_value_created.xml"))
    sync = fresh_sync()
    features = [FeatureSpec("Tensione", "230 V", 1), FeatureSpec("Potenza", "1500 W", 0)]
    pairs, known = sync.resolve_features(features, {})
    assert pairs == [(3, 21), (8, 25)]
    assert known == {"features": {"Potenza": 3, "Tensione": 8}, "values": {"3|1500 W": 21, "8|230 V": 25}}
    created = [c.request for c in rsps.calls if c.request.method == "POST"]
    assert len(created) == 2
    # features listed once, values of the existing feature listed once, Tensione's value not looked up (new feature)
    assert [c.request.method for c in rsps.calls].count("GET") == 3
    value_body = etree.fromstring(created[1].body, PARSER).find("product_feature_value")
    assert value_body.findtext("id_feature") == "8" and value_body.findtext("custom") == "0"
    assert [el.get("id") for el in value_body.findall("value/language")] == ["1", "2"]
    # everything known: no call at all, even on another ShopSync/client
    calls_before = len(rsps.calls)
    other = fresh_sync()
    assert other.resolve_features(features, known) == (pairs, known)
    assert len(rsps.calls) == calls_before


def test_resolve_manufacturer_known_found_created_once(rsps):
    sync = fresh_sync()
    assert sync.resolve_manufacturer("Anything", known_id=7) == 7
    assert len(rsps.calls) == 0
    rsps.get(
        API + "manufacturers",
        match=[responses.matchers.query_param_matcher({"filter[name]": "[acme tools]", "display": "[id,name]"})],
        body=fixture("manufacturers_by_name.xml"),
    )
    assert sync.resolve_manufacturer("acme tools") == 5
    rsps.get(API + "manufacturers", body=fixture("products_empty.xml").replace("products", "manufacturers"))
    rsps.post(API + "manufacturers", body=fixture("manufacturer_created.xml"))
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(sync.resolve_manufacturer("Nuova; Marca"))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [9] * 8
    posts = [c for c in rsps.calls if c.request.method == "POST"]
    assert len(posts) == 1  # created once, even with 8 threads asking at once
    assert etree.fromstring(posts[0].request.body, PARSER).findtext("manufacturer/name") == "Nuova Marca"


def test_unknown_categories_cached_and_refreshed_once_on_a_miss(rsps):
    rsps.get(API + "categories", body=fixture("categories.xml"))
    client = fresh_sync().client
    assert client.unknown_categories([2, 3, 50]) == [50]  # list read just now: a miss does not re-read it
    assert client.unknown_categories([2]) == []  # cached: no call
    assert len(rsps.calls) == 1
    assert client.unknown_categories([60]) == [60]  # a miss on an older list re-reads it once
    assert len(rsps.calls) == 2


# ---------------------------------------------------------------- delete


def test_delete_product_by_id_then_reference(sync, shop):
    first = sync.push_product(make_spec(images=[]), None)
    assert sync.delete_product(reference="ABC-1", presta_id=first.presta_id) == 42
    assert sync.delete_product(reference="ABC-1", presta_id=42) is None  # already gone: not an error
    pid = shop.seed("ABC-1")
    assert sync.delete_product(reference="ABC-1", presta_id=None) == pid
    shop.seed("abc-1")
    assert sync.delete_product(reference="ABC-1", presta_id=None) is None  # not an exact match


# ---------------------------------------------------------------- concurrency


def test_parallel_pushes_share_one_client(sync, shop, client):
    client.languages()
    specs = [make_spec(reference=f"REF-{i}", images=[image(jpeg((i, 0, 0)))]) for i in range(8)]
    results = {}

    def push(s):
        results[s.reference] = sync.push_product(s, None)

    threads = [threading.Thread(target=push, args=(s,)) for s in specs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(shop.products) == 8
    assert {r.presta_id for r in results.values()} == set(shop.products)
    # each push counts only its own calls: lookup, POST, GET stock, PUT stock, 1 image
    assert all(r.calls == 5 for r in results.values())
    assert client.calls == 1 + 8 * 5
