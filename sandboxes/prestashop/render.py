"""PrestaShop's webservice output: the XML envelope (WebserviceOutputXML) and the JSON one (WebserviceOutputJSON).

Entities are built once as plain data and rendered by either writer:
    entity  = {"node": "product", "attrs": {...}, "fields": [field...], "associations": [assoc...] | None}
    field   = (name, value | None, attrs, lang_values | None)   # lang_values: [(id_lang, href, text)]
    assoc   = (name, attrs, [(item_node, item_attrs, [field...])])
"""

from __future__ import annotations

import json

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n'
XML_FOOT = "</prestashop>\n"


def cdata(value) -> str:
    text = "" if value is None else str(value)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _attrs(attrs: dict) -> str:
    out = ""
    for key, value in attrs.items():
        name = "xlink:href" if key == "href" else key
        out += f' {name}="{value}"'
    return out


def _xml_field(field, indent: str) -> str:
    name, value, attrs, lang = field
    if lang is not None:
        inner = "".join(
            f'<language id="{lid}"' + (f' xlink:href="{href}"' if href else "") + f">{cdata(text)}</language>"
            for lid, href, text in lang
        )
        return f"{indent}<{name}{_attrs(attrs)}>{inner}</{name}>\n"
    return f"{indent}<{name}{_attrs(attrs)}>{cdata(value)}</{name}>\n"


def xml_entity(entity: dict) -> str:
    out = f"<{entity['node']}{_attrs(entity.get('attrs', {}))}>\n"
    for field in entity["fields"]:
        out += _xml_field(field, "\t")
    if entity.get("associations") is not None:
        out += "<associations>\n"
        for name, attrs, items in entity["associations"]:
            if not items:
                out += f"<{name}{_attrs(attrs)}/>\n"
                continue
            out += f"<{name}{_attrs(attrs)}>\n"
            for item_node, item_attrs, fields in items:
                out += f"\t<{item_node}{_attrs(item_attrs)}>\n"
                for field in fields:
                    out += _xml_field(field, "\t")
                out += f"\t</{item_node}>\n"
            out += f"</{name}>\n"
        out += "</associations>\n"
    out += f"</{entity['node']}>\n"
    return out


def xml_document(inner: str) -> bytes:
    return (XML_HEAD + inner + XML_FOOT).encode("utf-8")


def xml_list(plural: str, entities: list[dict], minimum: bool, ws_url: str) -> bytes:
    out = f"<{plural}>\n"
    for entity in entities:
        if minimum:
            out += f'<{entity["node"]} id="{entity["id"]}" xlink:href="{ws_url}{plural}/{entity["id"]}"/>\n'
        else:
            out += xml_entity(entity)
    out += f"</{plural}>\n"
    return xml_document(out)


def xml_errors(errors: list[tuple[int, str]]) -> bytes:
    out = "<errors>\n"
    for code, message in errors:
        out += f"<error>\n<code>{cdata(code)}</code>\n<message>{cdata(message)}</message>\n</error>\n"
    out += "</errors>\n"
    return xml_document(out)


# ---------------------------------------------------------------------------------------------- JSON


def _json_value(field):
    name, value, _attrs, lang = field
    if lang is not None:
        return [{"id": str(lid), "value": text} for lid, _href, text in lang]
    if name == "id" and value not in (None, "") and str(value).isdigit():
        return int(value)
    return "" if value is None else str(value)


def json_entity_body(entity: dict) -> dict:
    body = {field[0]: _json_value(field) for field in entity["fields"]}
    if entity.get("associations") is not None:
        assocs = {}
        for name, _attrs, items in entity["associations"]:
            if items:
                assocs[name] = [{f[0]: _json_value(f) for f in fields} for _node, _a, fields in items]
        if assocs:
            body["associations"] = assocs
    return body


def json_document(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_list(plural: str, entities: list[dict], minimum: bool) -> bytes:
    if not entities:
        return b"[]"
    if minimum:
        return json_document({plural: [{"id": int(e["id"])} for e in entities]})
    return json_document({plural: [json_entity_body(e) for e in entities]})


def json_errors(errors: list[tuple[int, str]]) -> bytes:
    return json_document({"errors": [{"code": code, "message": message} for code, message in errors]})
