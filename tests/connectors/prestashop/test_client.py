"""PrestaShopClient: the one `_request()` (auth, errors, retries) and the resource methods."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from lxml import etree

from connectors.http import RemoteNotFound, RemoteRejected, RemoteUnavailable
from connectors.prestashop.client import PrestaShopClient, filter_value

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prestashop"
BASE = "http://shop.test"
API = BASE + "/api/"
KEY = "K" * 32


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture
def client():
    c = PrestaShopClient(BASE, KEY, max_retries=3)
    c.sleeps = []
    c._sleep = c.sleeps.append
    return c


def xml_body(request) -> etree._Element:
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    return etree.fromstring(body)


# ---------------------------------------------------------------- transport


@responses.activate
def test_basic_auth_timeout_no_redirects_and_call_counter(client, monkeypatch):
    seen = {}
    real = requests.Session.request

    def spy(self, method, url, **kwargs):
        seen.update(kwargs)
        return real(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    responses.get(API + "languages", body=fixture("languages.xml"))
    assert client.languages() == [1, 2]
    assert seen["timeout"] == (5.0, 30.0)
    assert seen["allow_redirects"] is False
    auth = responses.calls[0].request.headers["Authorization"]
    assert auth.startswith("Basic ")
    assert client.calls == 1
    assert KEY not in repr(client)


@responses.activate
def test_key_never_logged(client, caplog):
    caplog.set_level("DEBUG")
    responses.get(API + "languages", status=503, body="")
    with pytest.raises(RemoteUnavailable):
        client.languages()
    assert KEY not in caplog.text
    assert "languages" in caplog.text


# ---------------------------------------------------------------- errors


@responses.activate
def test_400_validation_error_parsed(client):
    responses.post(API + "products", status=400, body=fixture("error_85.xml"))
    with pytest.raises(RemoteRejected) as err:
        client.create_product({"price": "1"})
    exc = err.value
    assert exc.status == 400
    assert str(exc) == 'PrestaShop 400: [85] Validation error: "Property Product->name is not valid"'
    assert exc.details == [{"code": 85, "message": 'Validation error: "Property Product->name is not valid"'}]
    assert not exc.retryable
    assert len(responses.calls) == 1


@responses.activate
def test_401_with_xml_and_bare_401(client):
    responses.get(API + "languages", status=401, body=fixture("error_401.xml"))
    with pytest.raises(RemoteRejected) as err:
        client.languages()
    assert "[17] Authentication key is not active" in str(err.value)
    assert not isinstance(err.value, RemoteNotFound)

    responses.replace(responses.GET, API + "languages", status=401, body="401 Unauthorized")
    with pytest.raises(RemoteRejected, match="PrestaShop 401"):
        client.languages()


@responses.activate
def test_get_missing_product_404_empty_body(client):
    responses.get(API + "products/999", status=404, body="")
    with pytest.raises(RemoteNotFound) as err:
        client.get_product(999)
    assert err.value.status == 404
    assert len(responses.calls) == 1  # 404 is not retried


@responses.activate
def test_500_is_unavailable_after_retries(client):
    responses.get(API + "products/1", status=500, body=fixture("error_500.xml"))
    with pytest.raises(RemoteUnavailable) as err:
        client.get_product(1)
    assert "[46] Unable to save resource" in str(err.value)
    assert err.value.retryable
    assert len(responses.calls) == 4  # 1 + max_retries
    assert len(client.sleeps) == 3


@responses.activate
def test_redirect_is_not_followed(client):
    responses.get(API + "languages", status=301, headers={"Location": "https://shop.test/api/languages"})
    with pytest.raises(RemoteRejected, match="redirected to https://shop.test/api/languages"):
        client.languages()
    assert len(responses.calls) == 1


# ---------------------------------------------------------------- retries


@responses.activate
def test_get_retried_on_503_then_succeeds(client):
    answers = [(503, {}, ""), (503, {}, ""), (200, {}, fixture("languages.xml"))]
    responses.add_callback(responses.GET, API + "languages", callback=lambda req: answers.pop(0))
    assert client.languages() == [1, 2]
    assert len(responses.calls) == 3
    assert client.calls == 3
    assert len(client.sleeps) == 2


@responses.activate
def test_get_retried_on_connection_error(client):
    answers = [requests.exceptions.ConnectionError("reset"), (200, {}, fixture("languages.xml"))]

    def callback(request):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    responses.add_callback(responses.GET, API + "languages", callback=callback)
    assert client.languages() == [1, 2]
    assert len(responses.calls) == 2


@responses.activate
def test_post_not_retried_after_500(client):
    responses.post(API + "products", status=500, body=fixture("error_500.xml"))
    with pytest.raises(RemoteUnavailable):
        client.create_product({"price": "1"})
    assert len(responses.calls) == 1
    assert client.sleeps == []


@responses.activate
def test_post_not_retried_after_read_timeout(client):
    responses.post(API + "products", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(RemoteUnavailable):
        client.create_product({"price": "1"})
    assert len(responses.calls) == 1


@responses.activate
def test_post_retried_when_never_sent(client):
    answers = [requests.exceptions.ConnectTimeout("no connect"), (200, {}, fixture("manufacturer_created.xml"))]

    def callback(request):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    responses.add_callback(responses.POST, API + "manufacturers", callback=callback)
    assert client.create_manufacturer("Acme Tools") == 9
    assert len(responses.calls) == 2


@responses.activate
def test_429_retry_after_honoured(client):
    answers = [(429, {"Retry-After": "7"}, ""), (200, {}, fixture("languages.xml"))]
    responses.add_callback(responses.GET, API + "languages", callback=lambda req: answers.pop(0))
    assert client.languages() == [1, 2]
    assert len(responses.calls) == 2
    assert client.sleeps[0] >= 7


@responses.activate
def test_429_with_long_retry_after_is_handed_to_caller(client):
    responses.get(API + "languages", status=429, headers={"Retry-After": "600"})
    with pytest.raises(RemoteUnavailable) as err:
        client.languages()
    assert err.value.retry_after == 600
    assert len(responses.calls) == 1


@responses.activate
def test_put_and_delete_retried_on_502(client):
    answers = [(502, {}, ""), (200, {}, fixture("stock_available_put.xml"))]
    responses.add_callback(responses.PUT, API + "stock_availables/77", callback=lambda req: answers.pop(0))
    row = {"id": "77", "id_product": "42", "id_product_attribute": "0", "id_shop": "1", "out_of_stock": "2"}
    client.set_stock(row, 5)
    assert len(responses.calls) == 2


# ---------------------------------------------------------------- resources


def test_filter_value_escapes_operators():
    assert filter_value("ABC-1") == "[ABC-1]"
    assert filter_value("A|B") == "[A_B]%"
    assert filter_value("10,20") == "[10_20]%"
    assert filter_value("X[1]") == "[X_1_]%"


@responses.activate
def test_products_by_reference_checks_exact_reference(client):
    responses.get(API + "products", body=fixture("products_by_reference_other_case.xml"))
    assert client.find_products_by_reference("ABC-1") == []  # "abc-1" / "ÀBC-1" only match by collation
    query = parse_qs(urlparse(responses.calls[0].request.url).query)
    assert query["filter[reference]"] == ["[ABC-1]"]
    assert query["display"] == ["[id,reference]"]

    responses.replace(responses.GET, API + "products", body=fixture("products_by_reference.xml"))
    assert client.find_products_by_reference("ABC-1") == [42]


@responses.activate
def test_product_get_parsed(client):
    responses.get(API + "products/42", body=fixture("product_get.xml"))
    product = client.get_product(42)
    assert product["reference"] == "ABC-1"
    assert product["name"] == {1: "Trapano a percussione", 2: "Trapano a percussione"}
    assert product["description"][1] == "<p>Potente & leggero</p>"
    assert product["associations"]["categories"] == [{"id": "2"}, {"id": "3"}]
    assert product["associations"]["product_features"] == [{"id": "3", "id_feature_value": "21"}]
    assert product["associations"]["stock_availables"] == [{"id": "77", "id_product_attribute": "0"}]
    assert product["associations"]["combinations"] == []


@responses.activate
def test_patch_product_sends_id_in_body(client):
    responses.patch(API + "products/42", body=fixture("product_get.xml"))
    client.patch_product(42, {"price": "10"})
    root = xml_body(responses.calls[0].request)
    assert root.findtext("product/id") == "42"
    assert root.findtext("product/price") == "10"
    assert responses.calls[0].request.headers["Content-Type"].startswith("text/xml")


@responses.activate
def test_stock_read_and_put_with_every_field(client):
    responses.get(API + "stock_availables", body=fixture("stock_availables.xml"))
    responses.put(API + "stock_availables/77", body=fixture("stock_available_put.xml"))
    row = client.product_stock(42)
    query = parse_qs(urlparse(responses.calls[0].request.url).query)
    assert query == {"filter[id_product]": ["[42]"], "display": ["full"]}
    client.set_stock(row, 5)
    sent = xml_body(responses.calls[1].request).find("stock_available")
    assert {el.tag: el.text for el in sent} == {
        "id": "77",
        "id_product": "42",
        "id_product_attribute": "0",
        "id_shop": "1",
        "id_shop_group": "0",
        "quantity": "5",
        "depends_on_stock": "0",
        "out_of_stock": "2",
        "location": None,
    }


@responses.activate
def test_manufacturer_find_case_insensitive_exact(client):
    responses.get(API + "manufacturers", body=fixture("manufacturers_by_name.xml"))
    assert client.find_manufacturer("acme tools") == 5
    assert client.find_manufacturer("ACME") is None


@responses.activate
def test_feature_value_exact_case_sensitive(client):
    responses.get(API + "product_feature_values", body=fixture("product_feature_values_list.xml"))
    assert client.find_feature_value(3, "1500 W") == 21
    assert client.find_feature_value(3, "1500 w") == 20
    assert client.find_feature_value(3, "1500") is None


@responses.activate
def test_image_upload_multipart_field_image_answers_200(client):
    responses.post(API + "images/products/42", status=200, body=fixture("image_uploaded.xml"))
    row = client.upload_image(42, b"\xff\xd8jpegbytes", "photo.jpg", "image/jpeg")
    assert row["id"] == "31" and row["cover"] == "1"
    request = responses.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="image"; filename="photo.jpg"' in request.body


@responses.activate
def test_image_list_and_delete(client):
    responses.get(API + "images/products/42", body=fixture("images_list.xml"))
    assert client.product_images(42) == [31, 32]
    responses.get(API + "images/products/43", status=404, body="")
    assert client.product_images(43) == []
    responses.delete(API + "images/products/42/31", body="")
    assert client.delete_image(42, 31) is True
    responses.delete(
        re.compile(API + r"images/products/42/99$"),
        status=400,
        body=fixture("error_85.xml").replace("85", "57"),
    )
    assert client.delete_image(42, 99) is False


@responses.activate
def test_delete_missing_product_is_false(client):
    responses.delete(API + "products/5", status=404, body=fixture("error_85.xml").replace("[85]", "[87]"))
    assert client.delete_product(5) is False


def test_post_retried_on_connection_refused_real_socket():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    c = PrestaShopClient(f"http://127.0.0.1:{port}", KEY, max_retries=2)
    c._sleep = lambda s: None
    with pytest.raises(RemoteUnavailable):
        c.create_manufacturer("Acme")
    assert c.calls == 3  # never reached the shop: a POST may be retried
