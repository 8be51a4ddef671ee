"""ProductSpec → PrestaShop fields and the request XML built from them."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from connectors.prestashop import mapping
from connectors.prestashop import xml as psxml
from connectors.prestashop.types import FeatureSpec, ProductSpec


def spec(**overrides) -> ProductSpec:
    values = dict(
        reference="ABC-1",
        name="Trapano a percussione",
        description="<p>Potente & leggero</p>",
        price=Decimal("19.90"),
        quantity=5,
        active=True,
        category_ids=[3, 4],
        ean13="4006381333931",
        weight=Decimal("1.5"),
        manufacturer_id=5,
        feature_values=[(3, 21), (8, 25)],
    )
    values.update(overrides)
    return ProductSpec(**values)


def built(s: ProductSpec, languages=(1, 2), features=True) -> etree._Element:
    fields, _ = mapping.core_fields(s, languages=list(languages), default_category_id=2)
    if features:
        fields["product_features"] = mapping.features_assoc(s.feature_values)
    body = psxml.build("product", fields)
    assert body.startswith(b"<?xml")
    return etree.fromstring(body).find("product")


# ---------------------------------------------------------------- name adaptation


def test_name_within_limit_untouched():
    assert mapping.adapt_name("Trapano a percussione") == ("Trapano a percussione", [])
    exact = "a" * 128
    assert mapping.adapt_name(exact) == (exact, [])


def test_name_shortened_at_last_word_boundary():
    name = ("parola " * 30).strip()  # 209 characters
    short, warnings = mapping.adapt_name(name)
    assert len(short) <= 128
    assert short == ("parola " * 18).strip()  # 18 words = 125 characters; a 19th would need 132
    assert not short.endswith(" ") and "…" not in short and "..." not in short
    assert warnings == [f"name shortened from {len(name)} to {len(short)} characters for PrestaShop (limit 128)"]


def test_name_boundary_exactly_at_limit():
    name = "a" * 120 + " bbbbbbb" + " cc"  # the first 128 characters end right before a space
    short, _ = mapping.adapt_name(name)
    assert short == "a" * 120 + " bbbbbbb"
    assert len(short) == 128


def test_name_single_long_word_hard_cut():
    short, warnings = mapping.adapt_name("x" * 200)
    assert short == "x" * 128
    assert warnings == ["name shortened from 200 to 128 characters for PrestaShop (limit 128)"]


def test_name_forbidden_characters_replaced_by_spaces():
    short, warnings = mapping.adapt_name("Cavo <HDMI>; 2m = #1 {top}")
    assert short == "Cavo HDMI 2m 1 top"
    assert warnings == ["name: characters not allowed by PrestaShop replaced by spaces"]


def test_name_forbidden_and_long_give_two_warnings():
    short, warnings = mapping.adapt_name("Set; " + "vite " * 40)
    assert len(short) <= 128 and ";" not in short
    assert len(warnings) == 2


# ---------------------------------------------------------------- link_rewrite


def test_str2url_like_prestashop():
    assert mapping.str2url("Trapano à Percussione 18V") == "trapano-a-percussione-18v"
    assert mapping.str2url("  Größe / Maße: 10×20 ") == "grosse-masse-10x20"
    assert mapping.str2url("Œuvre d'art -- été") == "oeuvre-d-art-ete"
    assert mapping.str2url("---") == ""
    long = mapping.str2url("word " * 60)
    assert len(long) <= 128 and not long.endswith("-")


def test_slug_falls_back_to_reference():
    root = built(spec(name="<>;"))
    assert root.findtext("link_rewrite/language") == "abc-1"


# ---------------------------------------------------------------- features


def test_feature_pairs_name_value_suffix_and_order():
    rows = [
        {"Gruppo": "Elettrico", "Descrizione": "Potenza", "Valore": "1500", "Suffisso": "W", "PrintOrder": 2},
        {"Gruppo": "Elettrico", "Descrizione": "Tensione", "Valore": "230", "Suffisso": "V", "PrintOrder": 1},
        {"Gruppo": "Altro", "Descrizione": "Colore", "Valore": "Rosso", "Suffisso": "", "PrintOrder": None},
        {"Gruppo": "Altro", "Descrizione": "Peso", "Valore": 2.5, "Suffisso": None, "PrintOrder": "1"},
        {"Gruppo": "Altro", "Descrizione": "Vuoto", "Valore": "", "Suffisso": "kg", "PrintOrder": 0},
    ]
    assert mapping.feature_pairs(rows) == [
        FeatureSpec("Tensione", "230 V", 0),
        FeatureSpec("Peso", "2.5", 1),
        FeatureSpec("Potenza", "1500 W", 2),
        FeatureSpec("Colore", "Rosso", 3),
    ]


# ---------------------------------------------------------------- XML built


def test_xml_every_language_cdata_and_flags():
    root = built(spec())
    for field in ("name", "description", "link_rewrite"):
        langs = root.findall(f"{field}/language")
        assert [el.get("id") for el in langs] == ["1", "2"], field
    assert root.findtext("name/language") == "Trapano a percussione"
    assert root.findtext("link_rewrite/language") == "trapano-a-percussione"
    assert root.findtext("description/language") == "<p>Potente & leggero</p>"
    for flag in ("active", "state", "available_for_order", "show_price"):
        assert root.findtext(flag) == "1", flag
    assert root.findtext("visibility") == "both"
    assert root.findtext("price") == "19.9"
    assert root.findtext("weight") == "1.5"
    assert root.findtext("reference") == "ABC-1"
    assert root.findtext("ean13") == "4006381333931"
    assert root.findtext("id_manufacturer") == "5"
    assert root.find("id") is None


def test_xml_uses_cdata_and_escapes_terminator():
    fields = {"reference": "A&B <x>", "description": psxml.Lang({1: "a ]]> b", 2: "ok"})}
    body = psxml.build("product", fields)
    assert b"<![CDATA[A&B <x>]]>" in body
    root = etree.fromstring(body)
    assert root.findtext("product/description/language") == "a ]]> b"


def test_xml_drops_characters_xml_cannot_carry():
    body = psxml.build("product", {"description": psxml.Lang({1: "a\x00b\x0bc"})})
    assert etree.fromstring(body).findtext("product/description/language") == "abc"


def test_xml_categories_first_is_default():
    root = built(spec(category_ids=[7, 3, 7]))
    assert root.findtext("id_category_default") == "7"
    assert [el.text for el in root.findall("associations/categories/category/id")] == ["7", "3"]


def test_xml_no_categories_links_default_only():
    root = built(spec(category_ids=[]))
    assert root.findtext("id_category_default") == "2"
    assert [el.text for el in root.findall("associations/categories/category/id")] == ["2"]


def test_xml_features_association():
    root = built(spec())
    feats = root.findall("associations/product_features/product_feature")
    assert [(f.findtext("id"), f.findtext("id_feature_value")) for f in feats] == [("3", "21"), ("8", "25")]


def test_xml_inactive_and_no_weight_no_manufacturer():
    root = built(spec(active=False, weight=None, manufacturer_id=None, price=Decimal("0.1234567")))
    assert root.findtext("active") == "0"
    assert root.findtext("weight") == "0"
    assert root.findtext("id_manufacturer") == "0"
    assert root.findtext("price") == "0.123457"  # at most 6 decimals, '.' separator


def test_invalid_ean13_sent_empty_with_warning():
    fields, warnings = mapping.core_fields(spec(ean13="12-34"), languages=[1], default_category_id=2)
    assert fields["ean13"] == ""
    assert any("ean13" in w for w in warnings)


def test_decimal_text():
    assert psxml.to_text(Decimal("19.900000")) == "19.9"
    assert psxml.to_text(Decimal("20")) == "20"
    assert psxml.to_text(Decimal("1E+2")) == "100"
    assert psxml.to_text(True) == "1" and psxml.to_text(False) == "0"


def test_strip_read_only_nodes(tmp_path):
    from pathlib import Path

    body = (Path(__file__).resolve().parents[2] / "fixtures" / "prestashop" / "product_get.xml").read_bytes()
    product = psxml.parse(body).find("product")
    psxml.strip_read_only(product)
    for name in ("manufacturer_name", "quantity", "position_in_category"):
        assert product.find(name) is None
    assert product.findtext("reference") == "ABC-1"


def test_parser_does_not_resolve_entities():
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><prestashop><product><reference>&e;</reference></product></prestashop>'
    product = psxml.read_resource(evil, "product")
    assert "root:" not in str(product.get("reference", ""))


def test_str2url_untransliterable_characters_separate_words():
    assert mapping.str2url("Lampada★LED 中文 5W") == "lampada-led-5w"
