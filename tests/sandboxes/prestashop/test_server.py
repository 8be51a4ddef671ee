"""The sandbox PrestaShop behaves like PrestaShop 8.2's webservice, over real HTTP."""

from __future__ import annotations

import io
import os
import time

import pytest
import requests
from lxml import etree
from PIL import Image

from sandboxes.prestashop import SandboxPrestaShop

KEY = "TESTKEYTESTKEYTESTKEYTESTKEY1234"


@pytest.fixture
def shop():
    with SandboxPrestaShop(host="127.0.0.1", port=0, api_key=KEY) as sandbox:
        yield sandbox


@pytest.fixture
def http(shop):
    session = requests.Session()
    session.auth = (KEY, "")
    yield session
    session.close()


def api(shop, path: str) -> str:
    return f"{shop.url}/api/{path}"


def xml(response) -> etree._Element:
    return etree.fromstring(response.content)


def errors(response) -> list[tuple[int, str]]:
    root = xml(response)
    return [(int(e.findtext("code")), e.findtext("message")) for e in root.iter("error")]


def product_xml(
    *,
    id_=None,
    name=("Espresso machine", "Macchina espresso"),
    price="19.90",
    reference="REF-1",
    extra="",
    categories=(2,),
    link_rewrite=None,
    features=None,
) -> str:
    names = "".join(f'<language id="{i}"><![CDATA[{n}]]></language>' for i, n in enumerate(name, 1)) if name else ""
    slug = ""
    if link_rewrite is not None:
        slug = (
            "<link_rewrite>"
            + "".join(f'<language id="{i}">{s}</language>' for i, s in enumerate(link_rewrite, 1))
            + "</link_rewrite>"
        )
    assoc = "<associations>"
    if categories is not None:
        assoc += "<categories>" + "".join(f"<category><id>{c}</id></category>" for c in categories) + "</categories>"
    if features is not None:
        assoc += (
            "<product_features>"
            + "".join(
                f"<product_feature><id>{f}</id><id_feature_value>{v}</id_feature_value></product_feature>"
                for f, v in features
            )
            + "</product_features>"
        )
    assoc += "</associations>"
    return (
        '<prestashop xmlns:xlink="http://www.w3.org/1999/xlink"><product>'
        + (f"<id>{id_}</id>" if id_ is not None else "")
        + (f"<price>{price}</price>" if price is not None else "")
        + f"<reference>{reference}</reference><state>1</state><active>1</active>"
        + "<id_category_default>2</id_category_default>"
        + (f"<name>{names}</name>" if name is not None else "")
        + slug
        + extra
        + assoc
        + "</product></prestashop>"
    )


def create_product(http, shop, **kwargs) -> int:
    response = http.post(api(shop, "products"), data=product_xml(**kwargs).encode())
    assert response.status_code == 201, response.text
    return int(xml(response).findtext("product/id"))


def image_bytes(fmt: str = "PNG", color=(200, 30, 30), size=(8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- auth


def test_no_key_is_a_bare_401_with_the_basic_realm(shop):
    response = requests.get(api(shop, "products"), timeout=5)
    assert response.status_code == 401
    assert response.text == "401 Unauthorized"
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="Welcome to PrestaShop Webservice')


def test_bad_key_is_401_with_an_xml_error(shop):
    response = requests.get(api(shop, "products"), auth=("X" * 32, ""), timeout=5)
    assert response.status_code == 401
    assert [code for code, _ in errors(response)] == [20, 21]
    assert "WWW-Authenticate" in response.headers
    short = requests.get(api(shop, "products"), auth=("short", ""), timeout=5)
    assert errors(short) == [(18, "Invalid authentication key format")]


def test_ws_key_parameter_authenticates(shop):
    response = requests.get(api(shop, f"products?ws_key={KEY}"), timeout=5)
    assert response.status_code == 200
    assert response.headers["PSWS-Version"] == "8.2.0"


def test_resource_index_and_unknown_resource(shop, http):
    root = xml(http.get(api(shop, "")))
    assert {"products", "stock_availables", "images", "languages"} <= {c.tag for c in root.find("api")}
    response = http.get(api(shop, "prodcts"))
    assert response.status_code == 400
    assert errors(response)[0][0] == 27 and 'Did you mean: "products"' in errors(response)[0][1]


# ---------------------------------------------------------------------------------------------- XML shape


def test_languages_and_categories_are_seeded(shop, http):
    response = http.get(api(shop, "languages?display=full"))
    assert b"<![CDATA[en]]>" in response.content and b"<![CDATA[it]]>" in response.content
    assert response.content.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">'
    )
    categories = xml(http.get(api(shop, "categories")))
    ids = [int(c.get("id")) for c in categories.find("categories")]
    assert ids == list(range(1, 21))
    home = xml(http.get(api(shop, "categories/2"))).find("category")
    assert home.findtext("name/language[@id='1']") == "Home"
    assert xml(http.get(api(shop, "categories/1"))).findtext("category/is_root_category") == "1"


def test_product_output_shape(shop, http):
    pid = create_product(http, shop)
    response = http.get(api(shop, f"products/{pid}"))
    assert response.headers["Content-Type"].startswith("text/xml")
    assert b"<price><![CDATA[19.900000]]></price>" in response.content
    node = xml(response).find("product")
    name = node.find("name")
    assert [(lang.get("id"), lang.text) for lang in name] == [("1", "Espresso machine"), ("2", "Macchina espresso")]
    assert name[0].get("{http://www.w3.org/1999/xlink}href").endswith("/api/languages/1")
    assert node.find("manufacturer_name").get("notFilterable") == "true"
    assert node.findtext("quantity") == "0"
    assert node.findtext("link_rewrite/language[@id='1']") == "espresso-machine"
    assert node.find("associations/categories").get("nodeType") == "category"
    stock = node.find("associations/stock_availables/stock_available")
    assert stock.findtext("id_product_attribute") == "0"


def test_list_display_full_and_selected_fields(shop, http):
    create_product(http, shop, reference="A")
    create_product(http, shop, reference="B")
    minimum = xml(http.get(api(shop, "products"))).find("products")
    assert [p.get("id") for p in minimum] == ["1", "2"] and len(minimum[0]) == 0
    assert minimum[0].get("{http://www.w3.org/1999/xlink}href").endswith("/api/products/1")
    partial = xml(http.get(api(shop, "products?display=[id,reference]"))).find("products")
    assert [[c.tag for c in p] for p in partial] == [["id", "reference"], ["id", "reference"]]
    full = xml(http.get(api(shop, "products?display=full&sort=[id_DESC]&limit=1"))).find("products")
    assert [p.findtext("reference") for p in full] == ["B"]
    assert full[0].find("associations") is not None
    paged = xml(http.get(api(shop, "products?display=[id]&limit=1,1"))).find("products")
    assert [p.findtext("id") for p in paged] == ["2"]


# ---------------------------------------------------------------------------------------------- filters


def test_filters_are_case_and_accent_insensitive_with_like_and_or(shop, http):
    create_product(http, shop, reference="Café-1")
    create_product(http, shop, reference="CAFE-10")
    create_product(http, shop, reference="tea_1")

    def refs(query):
        root = xml(http.get(api(shop, f"products?display=[reference]&{query}")))
        return [p.findtext("reference") for p in root.find("products")]

    assert refs("filter[reference]=[cafe-1]") == ["Café-1"]
    assert refs("filter[reference]=[Café-1|tea_1]") == ["Café-1", "tea_1"]
    assert refs("filter[reference]=[cafe-1]%") == ["Café-1", "CAFE-10"]
    assert refs("filter[reference]=%[a_1]%") == ["tea_1"]  # `_` is a wildcard too
    assert refs("filter[reference]=[tea%1]") == []
    assert refs("filter[name]=[espresso MACHINE]") == ["Café-1", "CAFE-10", "tea_1"]
    assert refs("filter[id]=[2,3]") == ["CAFE-10", "tea_1"]


def test_unknown_filter_field_answers_500(shop, http):
    response = http.get(api(shop, "products?filter[referense]=[X]"))
    assert response.status_code == 500
    codes = [code for code, _ in errors(response)]
    assert codes[0] == 32 and set(codes[1:]) == {3}
    assert 'Did you mean: "reference"' in errors(response)[0][1]
    dynamic = http.get(api(shop, "products?filter[quantity]=[1]"))
    assert errors(dynamic)[0][0] == 34


# ---------------------------------------------------------------------------------------------- products & stock


def test_create_makes_a_stock_row_and_stock_put_needs_id_shop(shop, http):
    pid = create_product(http, shop)
    rows = xml(http.get(api(shop, f"stock_availables?filter[id_product]=[{pid}]&display=full")))
    row = rows.find("stock_availables/stock_available")
    assert (row.findtext("id_shop"), row.findtext("quantity"), row.findtext("id_product_attribute")) == ("1", "0", "0")
    sid = row.findtext("id")
    body = (
        f"<prestashop><stock_available><id>{sid}</id><id_product>{pid}</id_product>"
        "<id_product_attribute>0</id_product_attribute><id_shop>1</id_shop><quantity>7</quantity>"
        "<depends_on_stock>0</depends_on_stock><out_of_stock>2</out_of_stock></stock_available></prestashop>"
    )
    assert http.put(api(shop, f"stock_availables/{sid}"), data=body).status_code == 200
    assert xml(http.get(api(shop, f"products/{pid}"))).findtext("product/quantity") == "7"
    assert shop.product(pid)["quantity"] == 7
    # Without id_shop the row leaves the shop: the product shows 0 and loses its stock association.
    assert http.put(api(shop, f"stock_availables/{sid}"), data=body.replace("<id_shop>1</id_shop>", "")).ok
    product = xml(http.get(api(shop, f"products/{pid}"))).find("product")
    assert product.findtext("quantity") == "0"
    assert product.find("associations/stock_availables").get("nodeType") == "stock_available"
    assert len(product.find("associations/stock_availables")) == 0
    # PATCH is partial; POST and DELETE are not allowed on stock.
    patch = (
        f"<prestashop><stock_available><id>{sid}</id><id_shop>1</id_shop><quantity>3</quantity>"
        "</stock_available></prestashop>"
    )
    assert http.patch(api(shop, f"stock_availables/{sid}"), data=patch).status_code == 200
    assert shop.product(pid)["quantity"] == 3
    assert http.post(api(shop, "stock_availables"), data=body).status_code == 405
    assert errors(http.delete(api(shop, f"stock_availables/{sid}")))[0][0] == 101
    missing = http.put(
        api(shop, f"stock_availables/{sid}"), data=body.replace("<depends_on_stock>0</depends_on_stock>", "")
    )
    assert errors(missing) == [(41, 'parameter "depends_on_stock" required')]


def test_post_echoes_values_as_sent_and_get_shows_stored_forms(shop, http):
    response = http.post(api(shop, "products"), data=product_xml(price="19.90").encode())
    assert xml(response).findtext("product/price") == "19.90"
    pid = int(xml(response).findtext("product/id"))
    stored = xml(http.get(api(shop, f"products/{pid}"))).find("product")
    assert stored.findtext("price") == "19.900000"
    assert stored.findtext("active") == "1" and stored.findtext("available_for_order") == "0"


def test_put_is_a_full_replace_and_patch_is_partial(shop, http):
    pid = create_product(http, shop, extra="<ean13>1234567890123</ean13><show_price>1</show_price>")
    # PUT with the id in the body (not the URL's) and only price + name: everything else is reset.
    body = (
        f"<prestashop><product><id>{pid}</id><price>5</price><name><language id='1'>New</language></name>"
        "</product></prestashop>"
    )
    assert http.put(api(shop, "products/999"), data=body).status_code == 200
    product = shop.product(pid)
    assert product["reference"] == "" and product["active"] is False and product["state"] == 0
    assert product["ean13"] == "" and product["id_category_default"] == 0
    assert product["name"] == {1: "New", 2: ""}  # a multilang field is rebuilt from the languages sent
    assert product["link_rewrite"] == {1: "", 2: ""}
    assert product["categories"] == [2]  # associations left out are untouched
    patch = f"<prestashop><product><id>{pid}</id><reference>PATCHED</reference></product></prestashop>"
    assert http.patch(api(shop, f"products/{pid}"), data=patch).status_code == 200
    assert shop.product(pid)["reference"] == "PATCHED" and shop.product(pid)["price"] == 5
    no_id = http.put(api(shop, f"products/{pid}"), data="<prestashop><product><price>1</price></product></prestashop>")
    assert errors(no_id) == [(90, "id is required when modifying a resource")]
    with_id = http.post(api(shop, "products"), data=product_xml(id_=pid).encode())
    assert errors(with_id) == [(91, "id is forbidden when adding a new resource")]
    unknown = http.put(api(shop, "products/77"), data=body.replace(f"<id>{pid}</id>", "<id>77</id>"))
    assert unknown.status_code == 404 and errors(unknown) == [(92, "Invalid ID")]


def test_missing_language_is_blanked_on_create(shop, http):
    pid = create_product(http, shop, name=("Only English",))
    assert shop.product(pid)["name"] == {1: "Only English", 2: ""}


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        (
            {"name": ("x" * 129, "ok")},
            84,
            'Validation error: "The length of property Product->link_rewrite is currently 129 chars. It must be between 0 '
            'and 128 chars."',
        ),
        ({"name": ("Bad <b> name", "ok")}, 84, 'Validation error: "Property Product->name is not valid"'),
        ({"name": ("Semi;colon", "ok")}, 84, 'Validation error: "Property Product->name is not valid"'),
        (
            {"extra": "<active>true</active>".replace("<active>", "<on_sale>").replace("</active>", "</on_sale>")},
            85,
            'Validation error: "Property Product->on_sale is not valid"',
        ),
        ({"price": "-1"}, 85, 'Validation error: "Property Product->price is not valid"'),
        ({"price": "19,90"}, 85, 'Validation error: "Property Product->price is not valid"'),
        ({"price": None}, 41, 'parameter "price" required'),
        (
            {"reference": "R" * 65},
            85,
            'Validation error: "The length of property Product->reference is currently 65 '
            'chars. It must be between 0 and 64 chars."',
        ),
        (
            {"extra": "<ean13>12345678901234</ean13>"},
            85,
            'Validation error: "The length of property Product->ean13 is '
            'currently 14 chars. It must be between 0 and 13 chars."',
        ),
        ({"extra": "<weight>-2</weight>"}, 85, 'Validation error: "Property Product->weight is not valid"'),
        (
            {"extra": "<manufacturer_name>X</manufacturer_name>"},
            93,
            'parameter "manufacturer_name" not writable. Please remove this attribute of this XML',
        ),
        (
            {"extra": "<quantity>5</quantity>"},
            93,
            'parameter "quantity" not writable. Please remove this attribute of this XML',
        ),
    ],
)
def test_validation_errors(shop, http, kwargs, code, message):
    response = http.post(api(shop, "products"), data=product_xml(**kwargs).encode())
    assert response.status_code == 400
    assert errors(response) == [(code, message)]
    assert shop.store.counts()["products"] == 0


def test_boolean_true_is_rejected(shop, http):
    response = http.post(
        api(shop, "products"), data=product_xml().replace("<active>1</active>", "<active>true</active>").encode()
    )
    assert errors(response) == [(85, 'Validation error: "Property Product->active is not valid"')]


def test_invalid_link_rewrite_is_fixed_on_post_but_rejected_on_put(shop, http):
    pid = create_product(http, shop, link_rewrite=("Not a slug!", "ok-slug"))
    assert shop.product(pid)["link_rewrite"] == {1: "not-a-slug", 2: "ok-slug"}
    put = product_xml(id_=pid, link_rewrite=("Not a slug!", "ok"))
    assert errors(http.put(api(shop, f"products/{pid}"), data=put.encode())) == [
        (84, 'Validation error: "Property Product->link_rewrite is not valid"')
    ]


def test_position_in_category_zero_is_500(shop, http):
    pid = create_product(http, shop)
    body = product_xml(id_=pid, extra="<position_in_category></position_in_category>")
    response = http.put(api(shop, f"products/{pid}"), data=body.encode())
    assert response.status_code == 500
    assert errors(response)[0][0] == 134


def test_json_body_is_a_500_xml_error(shop, http):
    response = http.post(
        api(shop, "products"), data=b'{"product": {"price": "1"}}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 500
    assert errors(response)[-1][0] == 127
    assert errors(response)[-1][1].startswith("XML error : String could not be parsed as XML")


def test_unknown_association_answers_400_after_saving(shop, http):
    body = product_xml(reference="SAVED").replace(
        "</associations>", "<colours><colour><id>1</id></colour></colours></associations>"
    )
    response = http.post(api(shop, "products"), data=body.encode())
    assert response.status_code == 400
    assert errors(response) == [(86, 'The association "colours" does not exists')]
    saved = shop.product_by_reference("SAVED")
    assert saved is not None and saved["categories"] == [2]


def test_unknown_category_is_linked_silently_and_hidden_on_read(shop, http):
    pid = create_product(http, shop, categories=(999, 3))
    product = xml(http.get(api(shop, f"products/{pid}"))).find("product")
    assert [c.findtext("id") for c in product.find("associations/categories")] == ["3"]
    assert shop.product(pid)["linked_category_ids"] == [999, 3]


def test_categories_come_back_sorted_by_id(shop, http):
    pid = create_product(http, shop, categories=(7, 2, 5))
    product = xml(http.get(api(shop, f"products/{pid}"))).find("product")
    assert [c.findtext("id") for c in product.find("associations/categories")] == ["2", "5", "7"]


def test_get_missing_is_404_empty_but_delete_missing_is_404_xml(shop, http):
    missing = http.get(api(shop, "products/42"))
    assert missing.status_code == 404 and missing.content == b""
    deleted = http.delete(api(shop, "products/42"))
    assert deleted.status_code == 404 and errors(deleted) == [(87, "Id(s) not exists: 42")]


def test_delete_product_removes_stock_images_and_links(shop, http):
    pid = create_product(http, shop)
    http.post(api(shop, f"images/products/{pid}"), files={"image": ("a.png", image_bytes(), "image/png")})
    assert http.delete(api(shop, f"products/{pid}")).status_code == 200
    assert shop.store.counts()["stock_availables"] == 0 and shop.store.counts()["images"] == 0
    assert shop.store.category_products.get(2) == []


# ---------------------------------------------------------------------------------------------- manufacturers, features


def test_manufacturers(shop, http):
    body = "<prestashop><manufacturer><name>De'Longhi</name><active>1</active></manufacturer></prestashop>"
    response = http.post(api(shop, "manufacturers"), data=body)
    assert response.status_code == 201
    mid = int(xml(response).findtext("manufacturer/id"))
    found = xml(http.get(api(shop, "manufacturers?filter[name]=[de'longhi]&display=full")))
    assert [m.findtext("id") for m in found.find("manufacturers")] == [str(mid)]
    assert shop.manufacturers_named("DE'LONGHI")[0]["id"] == mid
    assert errors(
        http.post(
            api(shop, "manufacturers"), data="<prestashop><manufacturer><active>1</active></manufacturer></prestashop>"
        )
    ) == [(41, 'parameter "name" required')]
    bad = http.post(api(shop, "manufacturers"), data=body.replace("De'Longhi", "A=B"))
    assert errors(bad) == [(85, 'Validation error: "Property Manufacturer->name is not valid"')]
    pid = create_product(http, shop, extra=f"<id_manufacturer>{mid}</id_manufacturer>")
    assert xml(http.get(api(shop, f"products/{pid}"))).findtext("product/manufacturer_name") == "De'Longhi"
    # A GET body sent back carries the read-only link_rewrite.
    back = http.get(api(shop, f"manufacturers/{mid}")).content
    assert errors(http.put(api(shop, f"manufacturers/{mid}"), data=back))[0][0] == 93


def test_features_values_and_product_feature_set(shop, http):
    feature = (
        "<prestashop><product_feature><name><language id='1'>Power</language><language id='2'>Potenza"
        "</language></name></product_feature></prestashop>"
    )
    fid = int(xml(http.post(api(shop, "product_features"), data=feature)).findtext("product_feature/id"))

    def value(text):
        body = (
            f"<prestashop><product_feature_value><id_feature>{fid}</id_feature><custom>0</custom>"
            f"<value><language id='1'>{text}</language><language id='2'>{text}</language></value>"
            "</product_feature_value></prestashop>"
        )
        response = http.post(api(shop, "product_feature_values"), data=body)
        assert response.status_code == 201, response.text
        return int(xml(response).findtext("product_feature_value/id"))

    v1, v2 = value("1500 W"), value("2000 W")
    assert shop.feature_named("Power")["id"] == fid
    assert shop.feature_value_text(v1) == "1500 W"
    pid = create_product(http, shop, features=[(fid, v1)])
    assert shop.product(pid)["features"] == [(fid, v1)]
    node = xml(http.get(api(shop, f"products/{pid}"))).find("product/associations/product_features/product_feature")
    assert node.findtext("id_feature_value") == str(v1)
    # Sending the association replaces the whole set; an empty one clears it.
    patch = (
        f"<prestashop><product><id>{pid}</id><associations><product_features><product_feature><id>{fid}</id>"
        f"<id_feature_value>{v2}</id_feature_value></product_feature></product_features></associations>"
        "</product></prestashop>"
    )
    http.patch(api(shop, f"products/{pid}"), data=patch)
    assert shop.product(pid)["features"] == [(fid, v2)]
    empty = (
        f"<prestashop><product><id>{pid}</id><associations><product_features/></associations></product></prestashop>"
    )
    http.patch(api(shop, f"products/{pid}"), data=empty)
    assert shop.product(pid)["features"] == []
    nameless = http.post(
        api(shop, "product_features"),
        data="<prestashop><product_feature><name><language id='2'>X</language></name></product_feature></prestashop>",
    )
    assert errors(nameless) == [(84, 'Validation error: "Property Feature->name is empty."')]


# ---------------------------------------------------------------------------------------------- images


def test_image_upload_cover_list_fetch_and_delete(shop, http):
    pid = create_product(http, shop)
    assert http.get(api(shop, f"images/products/{pid}")).status_code == 404
    assert http.get(api(shop, f"images/products/{pid}")).content == b""
    first = http.post(api(shop, f"images/products/{pid}"), files={"image": ("a.png", image_bytes(), "image/png")})
    assert first.status_code == 200
    image = xml(first).find("image")
    iid = int(image.findtext("id"))
    assert image.findtext("id_product") == str(pid) and image.findtext("cover") == "1"
    second = http.post(
        api(shop, f"images/products/{pid}"), files={"image": ("b.jpg", image_bytes("JPEG", (0, 0, 255)), "image/jpeg")}
    )
    iid2 = int(xml(second).findtext("image/id"))
    listing = xml(http.get(api(shop, f"images/products/{pid}"))).find("image")
    assert [int(d.get("id")) for d in listing] == [iid, iid2]
    product = shop.product(pid)
    assert product["id_default_image"] == iid
    assert product["images"][0]["bytes"] == image_bytes() and len(product["images"][0]["sha256"]) == 64
    fetched = http.get(api(shop, f"images/products/{pid}/{iid}"))
    assert fetched.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(fetched.content)).size == (8, 8)  # re-encoded, not the bytes sent
    public = requests.get(f"{shop.url}/img/p/{'/'.join(str(iid2))}/{iid2}.jpg", timeout=5)
    assert public.status_code == 200 and public.content == shop.product(pid)["images"][1]["served"]
    # Deleting the cover does not elect a new one.
    assert http.delete(api(shop, f"images/products/{pid}/{iid}")).status_code == 200
    assert shop.product(pid)["id_default_image"] is None
    assert xml(http.get(api(shop, f"products/{pid}"))).findtext("product/id_default_image") == ""
    assert errors(http.delete(api(shop, f"images/products/{pid}/{iid}"))) == [(57, "This image id does not exist")]


def test_image_rejections(shop, http):
    pid = create_product(http, shop)
    not_image = http.post(api(shop, f"images/products/{pid}"), files={"image": ("a.jpg", b"%PDF-1.4 hi", "image/jpeg")})
    assert not_image.status_code == 400
    assert errors(not_image) == [
        (76, "Image upload error : Image format not recognized, allowed formats are: gif, jpg, jpeg, jpe, png, webp")
    ]
    bad_ext = http.post(api(shop, f"images/products/{pid}"), files={"image": ("a.bmp", image_bytes(), "image/png")})
    assert errors(bad_ext)[0][0] == 76
    no_field = http.post(api(shop, f"images/products/{pid}"), files={"file": ("a.png", image_bytes(), "image/png")})
    assert errors(no_field) == [(76, 'Please set an "image" parameter with image data for value')]
    no_product = http.post(api(shop, "images/products/999"), files={"image": ("a.png", image_bytes(), "image/png")})
    assert errors(no_product) == [(76, "Product 999 does not exist")]
    assert shop.product(pid)["images"] == []


def test_image_over_the_upload_limit(http):
    with SandboxPrestaShop(port=0, api_key=KEY, image_max_bytes=1000) as small:
        pid = create_product(http, small)
        noise = io.BytesIO()
        Image.frombytes("RGB", (40, 40), os.urandom(40 * 40 * 3)).save(noise, "PNG")
        assert len(noise.getvalue()) > 1000
        response = http.post(
            api(small, f"images/products/{pid}"), files={"image": ("a.png", noise.getvalue(), "image/png")}
        )
        assert response.status_code == 400
        assert errors(response) == [(72, "The image size is too large (maximum allowed is 1 KB)")]
        assert small.product(pid)["images"] == []


# ---------------------------------------------------------------------------------------------- sandbox controls


def test_fault_injection_down_and_calls(shop, http):
    shop.fail_next(2, status=503, body="busy")
    assert http.get(api(shop, "languages")).status_code == 503
    assert http.get(api(shop, "languages")).text == "busy"
    assert http.get(api(shop, "languages")).status_code == 200
    shop.down = True
    assert http.get(api(shop, "products")).status_code == 503
    shop.down = False
    assert shop.calls[-1] == ("GET", "/api/products")
    shop.reset_calls()
    http.get(api(shop, "products?display=full"))
    assert shop.calls == [("GET", "/api/products?display=full")]


def test_latency_is_injected_and_keep_alive_is_fast(shop, http):
    http.get(api(shop, "languages"))
    start = time.perf_counter()
    for _ in range(5):
        http.get(api(shop, "languages"))
    fast = (time.perf_counter() - start) / 5
    assert fast < 0.03  # no Nagle/delayed-ACK stall on keep-alive connections
    shop.latency_ms = 60
    start = time.perf_counter()
    http.get(api(shop, "languages"))
    assert time.perf_counter() - start >= 0.06


def test_drift_helpers_and_html_page(shop, http):
    pid = create_product(http, shop, reference="DRIFT")
    shop.edit_product_by_hand(pid, name="Renamed", price="9.5")
    assert shop.product_by_reference("DRIFT")["name"] == {1: "Renamed", 2: "Renamed"}
    assert xml(http.get(api(shop, f"products/{pid}"))).findtext("product/price") == "9.500000"
    page = requests.get(shop.url + "/", timeout=5)
    assert page.status_code == 200 and "DRIFT" in page.text and "Renamed" in page.text
    shop.delete_product_by_hand(pid)
    assert http.get(api(shop, f"products/{pid}")).status_code == 404


def test_state_file_survives_a_restart(tmp_path, http):
    state = tmp_path / "shop.json"
    with SandboxPrestaShop(port=0, api_key=KEY, state_file=state) as first:
        pid = create_product(http, first, reference="KEEP")
        http.post(api(first, f"images/products/{pid}"), files={"image": ("a.png", image_bytes(), "image/png")})
    with SandboxPrestaShop(port=0, api_key=KEY, state_file=state) as second:
        product = second.product_by_reference("KEEP")
        assert product is not None and product["images"][0]["bytes"] == image_bytes()
        assert create_product(http, second, reference="NEXT") == pid + 1


def test_json_output(shop, http):
    pid = create_product(http, shop)
    data = http.get(api(shop, f"products/{pid}?output_format=JSON")).json()
    assert data["product"]["id"] == pid and data["product"]["price"] == "19.900000"
    assert data["product"]["name"][0] == {"id": "1", "value": "Espresso machine"}
    listing = http.get(api(shop, "products"), headers={"Output-Format": "JSON"}).json()
    assert listing == {"products": [{"id": pid}]}


def test_product_without_name_trips_the_link_rewrite_modifier(shop, http):
    # Product 8.2 does not require a name, but modifierWsLinkRewrite() loops over it: a PHP warning, a 500.
    response = http.post(api(shop, "products"), data=product_xml(name=None).encode())
    assert response.status_code == 500
    assert errors(response)[0][0] == 3 and "foreach()" in errors(response)[0][1]
    assert shop.store.counts()["products"] == 0


def test_head_and_cover_setter(shop, http):
    pid = create_product(http, shop)
    assert http.head(api(shop, f"products/{pid}")).status_code == 200
    assert http.head(api(shop, "products/999")).status_code == 404
    ids = [
        int(
            xml(
                http.post(
                    api(shop, f"images/products/{pid}"), files={"image": ("a.gif", image_bytes("GIF"), "image/gif")}
                )
            ).findtext("image/id")
        )
        for _ in range(2)
    ]
    patch = f"<prestashop><product><id>{pid}</id><id_default_image>{ids[1]}</id_default_image></product></prestashop>"
    assert http.patch(api(shop, f"products/{pid}"), data=patch).status_code == 200
    assert shop.product(pid)["id_default_image"] == ids[1]
