"""PrestaShop Webservice XML: build request bodies, read response bodies.

Requests are built with lxml, every value as text (CDATA when it is safe, escaped text otherwise),
multilang fields as one `<language id="N">` node per shop language, booleans `0`/`1`, decimals with `.`.
Responses are parsed with a parser that resolves no entities and never touches the network.

Shapes returned by the readers (all values are strings, as the shop stores them):
- plain field                → "19.900000"
- multilang field            → {1: "Nome", 2: "Name"}   (language id → text)
- `associations`             → {"categories": [{"id": "2"}, …], "product_features": [{"id": "1", "id_feature_value": "4"}]}
- any other nested element   → dict of its children
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True, huge_tree=False)
XLINK_NS = "http://www.w3.org/1999/xlink"

# Characters XML 1.0 cannot carry at all (lxml refuses them): dropped from every value we send.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Nodes a GET body carries that the shop refuses (or misapplies) when they are sent back.
READ_ONLY_PRODUCT_NODES = ("manufacturer_name", "quantity", "position_in_category")


class Lang(dict[Any, Any]):
    """A multilang value: {language id: text}. Rendered as one `<language id>` node per entry."""


@dataclass
class Assoc:
    """An association list: `<associations><{name}><{item}>…</item></{name}></associations>`."""

    item: str
    rows: list[dict[Any, Any]] = field(default_factory=list)


def to_text(value: Any) -> str:
    """One value as the Webservice wants it: `0`/`1`, `.` decimals without exponent, XML-safe text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return decimal_text(value)
    return _XML_INVALID.sub("", str(value))


def decimal_text(value: Decimal, places: int = 6) -> str:
    """`Decimal("19.90")` → `"19.9"`; at most `places` decimals, never an exponent, never `-0`."""
    quantum = Decimal(1).scaleb(-places)
    text = format(Decimal(value).quantize(quantum), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _set_text(el: etree._Element, value: Any) -> None:
    text = to_text(value)
    if text == "":
        return
    # CDATA cannot contain its own terminator; lxml escapes plain text correctly in that case.
    el.text = etree.CDATA(text) if "]]>" not in text else text


def build(resource: str, fields: dict[Any, Any]) -> bytes:
    """`<prestashop xmlns:xlink><{resource}>…fields…</{resource}></prestashop>` as UTF-8 bytes.

    `fields` values: scalars, `Lang` (multilang), `Assoc` (rendered under `<associations>`, in order).
    """
    root = etree.Element("prestashop", nsmap={"xlink": XLINK_NS})
    node = etree.SubElement(root, resource)
    associations = None
    for name, value in fields.items():
        if isinstance(value, Assoc):
            if associations is None:
                associations = etree.Element("associations")
            assoc = etree.SubElement(associations, name)
            for row in value.rows:
                item = etree.SubElement(assoc, value.item)
                for key, val in row.items():
                    _set_text(etree.SubElement(item, key), val)
            continue
        el = etree.SubElement(node, name)
        if isinstance(value, Lang):
            for lang_id, text in value.items():
                lang = etree.SubElement(el, "language", id=str(int(lang_id)))
                _set_text(lang, text)
        else:
            _set_text(el, value)
    if associations is not None:
        node.append(associations)
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def parse(body: bytes | str) -> etree._Element:
    if isinstance(body, str):
        body = body.encode("utf-8")
    return etree.fromstring(body, parser=PARSER)


def element_value(el: etree._Element) -> Any:
    """Python value of one element (see the module docstring for the shapes)."""
    children = [c for c in el if isinstance(c.tag, str)]
    if el.tag == "associations":
        return {
            assoc.tag: [element_value(item) if len(item) else _leaf_item(item) for item in assoc] for assoc in children
        }
    if children and all(c.tag == "language" for c in children):
        return Lang({int(c.get("id")): (c.text or "") for c in children})
    if not children:
        return el.text or ""
    return {c.tag: element_value(c) for c in children}


def _leaf_item(item: etree._Element) -> dict[Any, Any]:
    # `<category id="2" xlink:href="…"/>` (list without display) or `<image id="5"/>`
    out = dict(item.attrib)
    out.pop(f"{{{XLINK_NS}}}href", None)
    if item.text and item.text.strip():
        out.setdefault("id", item.text.strip())
    return out


def read_resource(body: bytes | str, resource: str) -> dict[Any, Any]:
    """The single `<resource>` of a GET/POST/PUT/PATCH answer as a dict."""
    root = parse(body)
    node = root.find(resource)
    if node is None:
        raise ValueError(f"no <{resource}> in PrestaShop answer")
    value: dict[Any, Any] = element_value(node)
    return value


def read_list(body: bytes | str, plural: str) -> list[dict[Any, Any]]:
    """Items of a list answer (`<products><product id="1"/>…` or with `display=` children)."""
    root = parse(body)
    node = root.find(plural)
    if node is None:
        return []
    out = []
    for item in node:
        if not isinstance(item.tag, str):
            continue
        if len(item):
            row = element_value(item)
            if not isinstance(row, dict):
                row = {}
            if "id" not in row and item.get("id"):
                row["id"] = item.get("id")
            out.append(row)
        else:
            out.append(_leaf_item(item))
    return out


def read_errors(body: bytes | str) -> list[tuple[int | None, str]]:
    """`<errors><error><code>85</code><message>…</message></error></errors>` → [(85, "…")]. [] if none."""
    if not body:
        return []
    try:
        root = parse(body)
    except etree.XMLSyntaxError:
        return []
    out = []
    for error in root.iter("error"):
        code_text = (error.findtext("code") or "").strip()
        message = (error.findtext("message") or "").strip()
        out.append((int(code_text) if code_text.isdigit() else None, message))
    return out


def strip_read_only(resource_el: etree._Element) -> etree._Element:
    """Remove nodes the shop refuses when a GET body is sent back (PUT/PATCH)."""
    for name in READ_ONLY_PRODUCT_NODES:
        for node in resource_el.findall(name):
            resource_el.remove(node)
    return resource_el
