from decimal import Decimal

from connectors.productsup.rows import (
    COLUMNS,
    DELETE_FLAG,
    RowSource,
    deletion_row,
    encode_json_array,
    encode_ndjson,
    format_decimal,
    format_price,
    image_url,
    product_row,
    spec_columns,
    spec_slug,
)

PUBLIC = "https://shop.example.com"


def make(**kw):
    base = dict(
        reference="REF-1",
        name="Trapano a percussione <Pro> 1500W",
        description="Un trapano",
        price=Decimal("1299.990000"),
        quantity=5,
        active=True,
        ean13="8001234567890",
        weight=Decimal("1.500000"),
        brand="Bosch",
        category_ids=[3, 7],
        image_ids=[12, 345],
        specs=[("Potenza", "1500 W"), ("Velocità max (giri/min)", "3000")],
    )
    base.update(kw)
    return RowSource(**base)


def test_row_has_exactly_the_spec_columns_in_order():
    cols = ["spec_colore", "spec_potenza", "spec_velocita_max_giri_min"]
    row = product_row(make(), public_url=PUBLIC, columns=cols)
    assert list(row) == list(COLUMNS) + cols
    assert row == {
        "id": "REF-1",
        "title": "Trapano a percussione <Pro> 1500W",
        "description": "Un trapano",
        "price": "1299.99",
        "quantity": 5,
        "availability": "in stock",
        "active": "1",
        "gtin": "8001234567890",
        "brand": "Bosch",
        "weight": "1.5",
        "image_link": f"{PUBLIC}/img/p/1/2/12.jpg",
        "additional_image_link": f"{PUBLIC}/img/p/3/4/5/345.jpg",
        "category_ids": "3,7",
        "spec_colore": "",
        "spec_potenza": "1500 W",
        "spec_velocita_max_giri_min": "3000",
    }


def test_empty_values_are_empty_strings_and_out_of_stock():
    row = product_row(
        make(
            quantity=0,
            active=False,
            ean13="",
            weight=None,
            brand="",
            category_ids=[],
            image_ids=[],
            specs=[],
            description="",
        ),
        public_url=PUBLIC,
        columns=["spec_potenza"],
    )
    assert row["availability"] == "out of stock"
    assert row["active"] == "0"
    for col in (
        "gtin",
        "brand",
        "weight",
        "image_link",
        "additional_image_link",
        "category_ids",
        "description",
        "spec_potenza",
    ):
        assert row[col] == "", col
    assert row["quantity"] == 0


def test_every_row_every_column():
    cols = spec_columns(["Potenza", "Colore"])
    rows = [
        product_row(make(reference="A", specs=[("Potenza", "1500 W")]), public_url=PUBLIC, columns=cols),
        product_row(make(reference="B", specs=[("Colore", "rosso")]), public_url=PUBLIC, columns=cols),
    ]
    assert list(rows[0]) == list(rows[1])
    assert rows[1]["spec_colore"] == "rosso" and rows[1]["spec_potenza"] == ""


def test_price_formats():
    assert format_price(Decimal("1299.990000")) == "1299.99"
    assert format_price(Decimal("10")) == "10.00"
    assert format_price(Decimal("0.000000")) == "0.00"
    assert format_price(Decimal("0.123400")) == "0.1234"  # never rounds a price away
    assert format_price(Decimal("1E+3")) == "1000.00"
    assert format_decimal(Decimal("2.000000")) == "2"
    assert format_decimal(Decimal("0.250000")) == "0.25"
    assert format_decimal(None) == ""


def test_image_url_digits_as_folders():
    assert image_url("http://s/", 12) == "http://s/img/p/1/2/12.jpg"
    assert image_url("http://s", 7) == "http://s/img/p/7/7.jpg"


def test_spec_slug():
    assert spec_slug("Velocità max (giri/min)") == "velocita_max_giri_min"
    assert spec_slug("  Peso   Netto ") == "peso_netto"
    assert spec_slug("°") == ""
    assert spec_columns(["Peso", "peso", "°", "Àltezza"]) == ["spec_altezza", "spec_peso"]


def test_value_with_suffix_and_duplicate_slugs_joined():
    row = product_row(
        make(specs=[("Peso", "2 kg"), ("peso", "3 kg"), ("°", "x")]), public_url=PUBLIC, columns=["spec_peso"]
    )
    assert row["spec_peso"] == "2 kg, 3 kg"
    assert "spec_" not in row


def test_deletion_rows():
    hard = deletion_row(make(is_deleted=True), soft=False, public_url=PUBLIC)
    soft = deletion_row(make(is_deleted=True), soft=True, public_url=PUBLIC)
    assert hard[DELETE_FLAG] == -1 and soft[DELETE_FLAG] == 1
    assert hard["id"] == "REF-1"
    assert set(COLUMNS) <= set(hard)


def test_encodings():
    rows = [{"id": "a", "title": "è"}, {"id": "b"}]
    assert encode_json_array(rows) == '[{"id":"a","title":"è"},{"id":"b"}]'.encode()
    assert encode_ndjson(rows) == '{"id":"a","title":"è"}\n{"id":"b"}\n'.encode()
