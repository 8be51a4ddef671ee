"""The PrestaShop 8.2 webservice request cycle (dispatcher.php + WebserviceRequest), over the sandbox store.

`Webservice.handle()` takes a parsed HTTP request and returns a `Response`; nothing here knows about sockets.
Each step follows the PHP code path, including its quirks: errors accumulate and the last status wins,
setters run while fields are read (before validation), associations are applied after the object is saved,
and a PHP warning turns into a 500 with error code 3.
"""

from __future__ import annotations

import base64
import io
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP

from lxml import etree

from . import render
from .php import (
    VALIDATORS,
    closest,
    collate,
    is_numeric,
    like,
    mysql_decimal,
    php_decimal,
    php_empty,
    php_int,
    str2url,
    strip_tags,
)
from .resources import ALL_RESOURCE_NAMES, API_INDEX, RESOURCES, Field, Resource
from .store import DEFAULT_LANG, SHOP_ID, Store, now

PS_VERSION = "8.2.0"
PHP_SRC = "/var/www/html/classes"
REALM = (
    'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as the login. '
    'No password required."'
)
IMAGE_EXTENSIONS = ("gif", "jpg", "jpeg", "jpe", "png", "webp")
IMAGE_MIME_SUPPORTED = (
    "image/gif",
    "image/jpg",
    "image/jpeg",
    "image/pjpeg",
    "image/png",
    "image/x-png",
    "image/webp",
    "image/svg+xml",
    "image/svg",
)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    wrote: bool = False  # the request changed the store (state file is saved)


class WsError(Exception):
    """Stop processing; the accumulated errors are output."""


def php_warning(message: str, file: str, line: int) -> tuple[int, str]:
    return 3, f"[PHP Warning #2] {message} ({PHP_SRC}/{file}, line {line})"


def sniff_mime(data: bytes) -> str:
    """What PHP's finfo reports for the first bytes of a file."""
    if not data:
        return "application/x-empty"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF"):
        return "application/pdf"
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:2048].lower()):
        return "image/svg+xml"
    if head.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


def reencode(data: bytes) -> bytes | None:
    """ImageManager::resize: the shop stores its own JPEG of the upload (None when it cannot read it)."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            img.load()
            out = io.BytesIO()
            if img.mode not in ("RGB", "L"):
                background = Image.new("RGB", img.size, (255, 255, 255))
                rgba = img.convert("RGBA")
                background.paste(rgba, mask=rgba.split()[-1])
                img = background
            img.save(out, "JPEG", quality=90)
            return out.getvalue()
    except Exception:  # noqa: BLE001 - any decoding failure is the shop's "error while copying image"
        return None


class Webservice:
    def __init__(self, store: Store, api_key: str, image_max_bytes: int) -> None:
        self.store = store
        self.api_key = api_key
        self.image_max_bytes = image_max_bytes

    # ================================================================================================ entry

    def handle(
        self, method: str, segments: list[str], params: dict, headers: dict, body: bytes | None, ws_url: str
    ) -> Response:
        ctx = Ctx(self, method, segments, params, headers, body, ws_url)
        try:
            ctx.run()
        except WsError:
            pass
        return ctx.response()


def parse_params(query: list[tuple[str, str]]) -> dict:
    """PHP's $_GET: `filter[name]=x` becomes {'filter': {'name': 'x'}}; the last value of a key wins."""
    params: dict = {}
    for key, value in query:
        match = re.match(r"^([^\[]+)((?:\[[^\]]*\])*)$", key)
        if not match or not match.group(2):
            params[key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\]]*)\]", match.group(2))]
        node = params
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return params


class Ctx:
    """One request: WebserviceRequest's state (errors, status, objects, output)."""

    def __init__(
        self,
        ws: Webservice,
        method: str,
        segments: list[str],
        params: dict,
        headers: dict,
        body: bytes | None,
        ws_url: str,
    ) -> None:
        self.ws, self.store = ws, ws.store
        self.method, self.segments, self.params, self.headers = method, segments, params, headers
        self.body, self.ws_url = body, ws_url
        self.errors: list[tuple[int, str]] = []
        self.status = 200
        self.output: bytes | None = None
        self.content_type = "text/xml;charset=utf-8"
        self.authenticated = False
        self.output_enabled = True
        self.wrote = False
        fmt = (
            headers.get("io-format")
            or headers.get("output-format")
            or params.get("output_format")
            or params.get("io_format")
            or "XML"
        )
        self.json = fmt == "JSON"
        self.extra_headers: dict[str, str] = {}
        self.started = time.monotonic()

    # ---------------------------------------------------------------------------------------- plumbing

    def error(self, status: int, message: str, code: int) -> None:
        self.status = status
        self.errors.append((code, message))

    def fail(self, status: int, message: str, code: int):
        self.error(status, message, code)
        raise WsError

    def did_you_mean(self, status: int, label: str, value: str, available: list[str], code: int):
        message = f'{label}. Did you mean: "{closest(value, available)}"?'
        if len(available) > 1:
            message += ' The full list is: "' + '", "'.join(available) + '"'
        self.fail(status, message, code)

    def response(self) -> Response:
        headers = {
            "Access-Time": str(int(time.time())),
            "X-Powered-By": "PrestaShop Webservice",
            "Execution-Time": f"{time.monotonic() - self.started:.3f}".rstrip("0").rstrip(".") or "0",
        }
        if self.authenticated:
            headers["PSWS-Version"] = PS_VERSION
        headers.update(self.extra_headers)
        body = self.output if self.output_enabled else None
        if self.errors:
            body = render.json_errors(self.errors) if self.json else render.xml_errors(self.errors)
            self.content_type = "application/json;charset=utf-8" if self.json else "text/xml;charset=utf-8"
        if body:
            import hashlib

            headers["Content-Sha1"] = hashlib.sha1(body).hexdigest()  # noqa: S324 - PrestaShop's header, not security
            headers["Content-Type"] = self.content_type
        return Response(self.status, body or b"", headers, self.wrote)

    # ---------------------------------------------------------------------------------------- request cycle

    def run(self) -> None:
        key = self.headers.get("x-sandbox-key")
        if key is None:
            raise AssertionError("the HTTP layer resolves the key")  # pragma: no cover
        self.authenticate(key)
        if self.json:
            self.content_type = "application/json;charset=utf-8"
        resource = self.segments[0] if self.segments else ""
        if self.method not in METHODS:
            self.fail(405, f"Method {self.method} is not valid", 23)
        if resource == "":
            self.output = self.resource_list()
            return
        known = {name for name, _d, _s in API_INDEX}
        if resource not in ALL_RESOURCE_NAMES:
            self.did_you_mean(
                400,
                f'Resource of type "{resource}" does not exists',
                resource,
                list(dict.fromkeys(ALL_RESOURCE_NAMES)),
                27,
            )
        if resource not in known:
            self.fail(401, f'Resource of type "{resource}" is not allowed with this authentication key', 26)
        if resource == "images":
            ImagesHandler(self).run()
            return
        res = RESOURCES[resource]
        if self.method in res.forbidden_methods:
            self.fail(405, f"Method {self.method} is not allowed for the resource {resource}", 101)
        with self.store.lock:
            if self.method in ("GET", "HEAD"):
                self.get(res)
            elif self.method in ("POST", "PUT", "PATCH"):
                self.save(res, 201 if self.method == "POST" else 200)
            else:
                self.delete(res)

    def authenticate(self, key: str) -> None:
        key = key.strip()
        if key == "":
            self.error(401, "Authentication key is empty", 17)
        elif len(key) != 32:
            self.error(401, "Invalid authentication key format", 18)
        elif key != self.ws.api_key:
            self.error(401, "Authentification key is not active", 20)
            self.error(401, "No permission for this authentication key", 21)
        if self.errors:
            self.extra_headers["WWW-Authenticate"] = REALM
            self.status = 401
            raise WsError
        self.authenticated = True

    def resource_list(self) -> bytes:
        if self.json:
            return render.json_document({"api": {name: {"description": d} for name, d, _s in API_INDEX}})
        out = '<api shopName="Sandbox PrestaShop">\n'
        for name, description, specific in API_INDEX:
            allowed = {m: "true" for m in ("get", "put", "post", "patch", "delete", "head")}
            if name == "stock_availables":
                allowed["post"] = allowed["delete"] = "false"
            attrs = f'xlink:href="{self.ws_url}{name}" ' + " ".join(f'{k}="{v}"' for k, v in allowed.items())
            out += f"<{name} {attrs}>\n<description {attrs}>{description}</description>\n"
            if not specific:
                out += (
                    f'<schema xlink:href="{self.ws_url}{name}?schema=blank" type="blank"/>\n'
                    f'<schema xlink:href="{self.ws_url}{name}?schema=synopsis" type="synopsis"/>\n'
                )
            out += f"</{name}>\n"
        out += "</api>\n"
        return render.xml_document(out)

    # ================================================================================================ GET

    def languages(self) -> list[int]:
        wanted = self.params.get("language")
        active = self.store.active_language_ids()
        if wanted is None:
            return active
        if isinstance(wanted, str) and wanted.isdigit():
            ids = [int(wanted)]
        elif isinstance(wanted, str) and wanted.startswith("[") and wanted.endswith("]"):
            inner = wanted[1:-1]
            if "|" in inner:
                ids = [php_int(x) for x in inner.split("|")]
            elif "," in inner:
                lo, hi = (php_int(x) for x in inner.split(",", 1))
                ids = list(range(lo, hi + 1))
            else:
                ids = [php_int(inner)]
        else:
            self.fail(400, "language value is wrong", 79)
        for lid in ids:
            if lid not in active:
                self.fail(400, "language is not available", 81)
        return ids

    def fields_to_display(self, res: Resource, default: str):
        display = self.params.get("display", default)
        if display == "full" or display == "minimum":
            return display
        if not isinstance(display, str) or not re.fullmatch(r"\[.*\]", display):
            self.fail(
                400,
                "The 'display' syntax is wrong. You can set 'full' or '[field_1,field_2,field_3,...]'. "
                "These are available: " + ", ".join(res.order),
                36,
            )
        parts, depth, current = [], 0, ""
        for ch in display[1:-1]:
            if ch == "," and depth == 0:
                parts.append(current)
                current = ""
                continue
            current += ch
            depth += ch == "["
            depth -= ch == "]"
        if current:
            parts.append(current)
        selected: dict[str, list[str] | None] = {}
        for part in parts:
            name = part.split("[", 1)[0].strip()
            if "[" in part:
                sub = part[part.index("[") + 1 : part.rindex("]")]
                if name in res.associations:
                    selected[name] = [s.strip() for s in sub.split(",")]
                    continue
            if name not in res.order or name in res.hidden:
                self.fail(
                    400,
                    f'Unable to display this field "{name}". However, these are available: ' + ", ".join(res.order),
                    35,
                )
            selected[name] = None
        return selected

    def get(self, res: Resource) -> None:
        langs = self.languages()
        if len(self.segments) > 1 and self.segments[1] != "":
            display = self.fields_to_display(res, "full")
            rid = php_int(self.segments[1])
            if rid not in self.store.tables[res.api]:
                self.status = 404
                self.output_enabled = False
                return
            entity = self.entity(res, rid, display, langs)
            if self.json:
                self.output = render.json_document({res.node: render.json_entity_body(entity)})
            else:
                self.output = render.xml_document(render.xml_entity(entity))
            return
        schema = self.params.get("schema")
        if schema is not None:
            if schema not in ("blank", "synopsis"):
                self.fail(
                    400,
                    "Please select a schema of type 'synopsis' to get the whole schema informations "
                    "(which fields are required, which kind of content...) or 'blank' to get an empty schema "
                    "to fill before using POST request",
                    28,
                )
            self.output = render.xml_document(render.xml_entity(self.schema_entity(res, schema, langs)))
            return
        ids = self.filtered_ids(res, langs)
        display = self.fields_to_display(res, "minimum")
        minimum = display == "minimum"
        entities = [{"node": res.node, "id": i} if minimum else self.entity(res, i, display, langs) for i in ids]
        if self.json:
            self.output = render.json_list(res.api, entities, minimum)
        else:
            self.output = render.xml_list(res.api, entities, minimum, self.ws_url)

    # ---------------------------------------------------------------------------------------- filters

    def filtered_ids(self, res: Resource, langs: list[int]) -> list[int]:
        available = [n for n in res.order if n not in res.hidden and n not in res.lang_fields]
        i18n = [n for n in res.order if n in res.lang_fields and n not in res.hidden]
        if not self.params.get("date"):
            available = [n for n in available if n not in ("date_add", "date_upd")]
        filters = self.params.get("filter", {})
        conditions = []
        try:
            if not isinstance(filters, dict):
                filters = {}
            for name, value in filters.items():
                if name in ("sort", "limit"):
                    continue
                if name not in available:
                    if value != "" and name in i18n and isinstance(value, str):
                        conditions.append((name, value, True))
                        continue
                    if isinstance(value, dict):
                        self.error(400, "There is no existing linked table for this resource", 31)
                        raise WsError
                    label = "This filter does not exist"
                    message = f'{label}. Did you mean: "{closest(name, available)}"?'
                    if len(available) > 1:
                        message += ' The full list is: "' + '", "'.join(available) + '"'
                    self.error(400, message, 32)
                    raise WsError
                if value == "":
                    self.error(400, f'The filter "{name}" is malformed.', 33)
                    raise WsError
                ws = res.ws.get(name)
                if ws is not None and (ws.getter is not None or ws.has_getter_key):
                    self.error(
                        400,
                        f'The field "{name}" is dynamic. It is not possible to filter GET query with this field.',
                        34,
                    )
                    raise WsError
                if name not in res.defs and name != "id":
                    self.fail(500, f"Unknown column 'main.{name}' in 'where clause'", 0)
                conditions.append((name, value, False))
            order = self.sort_keys(res, available, i18n)
            limit = self.params.get("limit")
            if limit is not None:
                parts = str(limit).split(",")
                if len(parts) > 2:
                    self.error(400, 'The "limit" value has to be formed as this example: "5,25" or "10"', 39)
                    raise WsError
        except WsError:
            # manageFilters() returned false and getFilteredObjectList() reads $filters['sql_join'] etc. on it:
            # four PHP warnings, the last one sets the status to 500 (what clients see for a bad filter).
            for line in range(1333, 1337):
                self.errors.append(
                    php_warning(
                        "Trying to access array offset on value of type bool", "webservice/WebserviceRequest.php", line
                    )
                )
            self.status = 500
            raise
        table = self.store.tables[res.api]
        predicates = [self.condition(res, n, v, lang, langs) for n, v, lang in conditions]
        rows = table.items()
        for (name, _value, _lang), (_, wanted) in zip(conditions, predicates, strict=True):
            if name == "id" and wanted is not None:  # `filter[id]=[1|2|3]`: the primary key, not a scan
                rows = [(int(i), table[int(i)]) for i in wanted if i == int(i) and int(i) in table]
                break
        ids = [rid for rid, record in rows if all(test(record) for test, _ in predicates)]
        ids.sort()
        for name, desc in reversed(order):
            ids.sort(key=lambda rid, n=name: self.sort_value(res, table[rid], n), reverse=desc)
        if limit is not None:
            parts = [php_int(p) for p in str(limit).split(",")]
            ids = ids[: parts[0]] if len(parts) == 1 else ids[parts[0] : parts[0] + parts[1]]
        return ids

    def sort_keys(self, res: Resource, available: list[str], i18n: list[str]) -> list[tuple[str, bool]]:
        sort = self.params.get("sort")
        if sort is None:
            return []
        match = re.fullmatch(r"\[(.*)\]", sort)
        items = match.group(1).split(",") if match else [sort]
        keys = []
        for item in items:
            name, _, direction = item.rpartition("_")
            if not name or direction.upper() not in ("ASC", "DESC"):
                self.error(
                    400,
                    'The "sort" value has to be formed as this example: "field_ASC" or '
                    "'[field_1_DESC,field_2_ASC,field_3_ASC,...]' (\"field\" has to be an available field)",
                    37,
                )
                raise WsError
            if name not in available and name not in i18n:
                self.error(
                    400,
                    "Unable to filter by this field. However, these are available: "
                    + ", ".join(available)
                    + ", for i18n fields:"
                    + ", ".join(i18n),
                    38,
                )
                raise WsError
            keys.append((name, direction.upper() == "DESC"))
        return keys

    def sort_value(self, res: Resource, record: dict, name: str):
        value = record.get(name)
        if isinstance(value, dict):
            value = value.get(DEFAULT_LANG, "")
        f = res.defs.get(name)
        if name == "id" or (f and f.type in ("int", "float", "bool")):
            return (0, php_decimal(value), "")
        return (1, 0, collate(value or ""))

    def condition(self, res: Resource, name: str, raw: str, lang: bool, langs: list[int]):
        """(test(record) → bool, the set of numbers of a numeric `[a|b|…]` list or None). A numeric OR list is
        tested against a set once per request (same result as `match`, without re-parsing it per row)."""
        f = res.defs.get(name)
        numeric = name == "id" or (f is not None and f.type in ("int", "float", "bool"))
        if numeric and not lang and re.fullmatch(r"\[\d+(?:\|\d+)*\]", raw):
            wanted = {php_decimal(v) for v in raw[1:-1].split("|")}

            def test(record: dict) -> bool:
                stored = record.get(name)
                return php_decimal("" if stored is None else str(stored)) in wanted

            return test, wanted
        return (lambda record: self.match(res, record, name, raw, lang, langs)), None

    def match(self, res: Resource, record: dict, name: str, raw: str, lang: bool, langs: list[int]) -> bool:
        if lang:
            values = [record[name].get(lid, "") for lid in self.store.active_language_ids()]
        else:
            values = [record.get(name)]
        f = res.defs.get(name)
        numeric = name == "id" or (f is not None and f.type in ("int", "float", "bool"))
        return any(self.match_value(v, raw, numeric) for v in values)

    @staticmethod
    def match_value(stored, raw: str, numeric: bool) -> bool:
        """SQLUtils::getSQLRetrieveFilter evaluated the way MySQL would."""
        stored = "" if stored is None else str(stored)

        def eq(value: str) -> bool:
            if numeric:
                return (
                    php_decimal(stored) == php_decimal(value)
                    if is_numeric(value) or value.strip()
                    else php_decimal(stored) == 0
                )
            return collate(stored) == collate(value)

        def cmp(value: str) -> int:
            if numeric:
                a, b = php_decimal(stored), php_decimal(value)
            else:
                a, b = collate(stored), collate(value)  # type: ignore[assignment]
            return (a > b) - (a < b)

        m = re.match(r"^(.*)\[(.*)\](.*)$", raw, re.S)
        if not m:
            return eq(raw)
        before, inner, after = m.groups()
        if before == "%" or after == "%":
            return like(stored, before + inner + after)
        if before == "" and after == "":
            if inner.find("|") > 0:
                return any(eq(v) for v in inner.split("|"))
            between = re.fullmatch(r"([\d\.:\-\s]+),([\d\.:\-\s]+)", inner)
            if between:
                lo, hi = sorted(between.groups(), key=lambda s: php_decimal(s) if is_numeric(s) else s)
                return cmp(lo) >= 0 and cmp(hi) <= 0
            return eq(inner)
        if before == ">":
            return cmp(inner) > 0
        if before == "<":
            return cmp(inner) < 0
        if before == "!":
            return all(not eq(v) for v in inner.split("|"))
        return True  # any other prefix adds no SQL condition at all

    # ---------------------------------------------------------------------------------------- entities

    def href(self, resource: str, value) -> str:
        return f"{self.ws_url}{resource}/{value}"

    def lang_values(self, values, langs: list[int]) -> list[tuple[int, str, str]]:
        if isinstance(values, str):  # a multilang property set from plain text: the same text in every language
            return [(lid, self.href("languages", lid), values) for lid in langs]
        values = values or {}
        return [(lid, self.href("languages", lid), values.get(lid, "")) for lid in langs]

    def virtual(self, res: Resource, rid: int, record: dict, name: str):
        store = self.store
        if res.api == "products":
            if name == "id_default_image":
                return store.cover_id(rid)
            if name == "id_default_combination":
                return "0"
            if name == "position_in_category":
                members = store.category_products.get(php_int(record["id_category_default"]), [])
                return str(members.index(rid) + 1) if rid in members else ""
            if name == "manufacturer_name":
                return store.manufacturer_name(php_int(record["id_manufacturer"]))
            if name == "quantity":
                return str(store.quantity(rid))
            if name == "type":
                return (
                    "virtual" if record["is_virtual"] == "1" else "pack" if record["cache_is_pack"] == "1" else "simple"
                )
            if name == "new":
                try:
                    added = datetime.strptime(record["date_add"], "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    return ""
                return "1" if (datetime.now().date() - added.date()).days < 20 else ""
        if res.api == "manufacturers" and name == "link_rewrite":
            return str2url(record["name"])
        if res.api == "categories" and name == "nb_products_recursive":
            return str(self.nb_products_recursive(rid))
        return ""

    def nb_products_recursive(self, cid: int) -> int:
        total = len(self.store.category_products.get(cid, []))
        for child_id, child in self.store.tables["categories"].items():
            if child["id_parent"] == str(cid) and child_id != cid:
                total += self.nb_products_recursive(child_id)
        return total

    def field_out(self, res: Resource, rid: int, record: dict, name: str, langs: list[int], echo: dict | None):
        ws = res.ws.get(name)
        f = res.defs.get(name)
        attrs: dict[str, str] = {}
        if f is not None and f.lang:
            values = echo[name] if echo is not None and name in echo else record.get(name)
            return (name, None, attrs, self.lang_values(values, langs))
        if name == "id":
            value = str(rid)
        elif echo is not None and name in echo and (ws is None or not ws.getter):
            value = echo[name]
        elif f is not None:
            value = record.get(name)
        else:
            value = self.virtual(res, rid, record, name)
        if ws is not None and ws.xlink and value not in (None, "", "0", 0):
            if ws.xlink == "images/products":
                attrs["href"] = f"{self.ws_url}images/products/{rid}/{value}"
            else:
                attrs["href"] = self.href(ws.xlink, value)
        if ws is not None and (ws.getter is not None or ws.has_getter_key):
            attrs["notFilterable"] = "true"
        return (name, value, attrs, None)

    def associations(self, res: Resource, rid: int, display) -> list:
        out = []
        for name, assoc in res.associations.items():
            sub = None
            if isinstance(display, dict):
                if name not in display:
                    continue
                sub = display[name]
            attrs = {}
            if assoc.read_only_attr:
                attrs["readOnly"] = "true"
            attrs["nodeType"] = assoc.resource
            attrs["api"] = assoc.api or name
            items = []
            for row in self.association_rows(res, rid, name):
                item_attrs = {}
                if name == "images":
                    item_attrs["href"] = f"{self.ws_url}images/products/{rid}/{row['id']}"
                elif name in ("categories", "product_features", "stock_availables", "products", "addresses"):
                    item_attrs["href"] = self.href(assoc.api or name, row["id"])
                fields = []
                for fname, xlink in assoc.fields:
                    if sub is not None and fname not in sub:
                        continue
                    fattrs = {"href": self.href(xlink, row.get(fname))} if xlink and row.get(fname) else {}
                    fields.append((fname, row.get(fname), fattrs, None))
                items.append((assoc.resource, item_attrs, fields))
            out.append((name, attrs, items))
        return out

    def association_rows(self, res: Resource, rid: int, name: str) -> list[dict]:
        store = self.store
        if res.api == "products":
            if name == "categories":
                return [
                    {"id": str(c)}
                    for c in sorted(store.product_categories.get(rid, []))
                    if store.category_exists_in_shop(c)
                ]
            if name == "images":
                return [{"id": str(i["id"])} for i in store.product_images(rid)]
            if name == "product_features":
                return [
                    {"id": str(f), "id_feature_value": str(v)} for f, v in sorted(store.product_features.get(rid, []))
                ]
            if name == "stock_availables":
                return [
                    {"id": r["id"], "id_product_attribute": r["id_product_attribute"]} for r in store.stock_rows(rid)
                ]
        if res.api == "categories":
            if name == "categories":
                return [
                    {"id": str(c)}
                    for c, r in sorted(store.tables["categories"].items())
                    if r["id_parent"] == str(rid) and c != rid
                ]
            if name == "products":
                return [{"id": str(p)} for p in store.category_products.get(rid, [])]
        return []

    def entity(self, res: Resource, rid: int, display, langs: list[int], echo: dict | None = None) -> dict:
        record = self.store.tables[res.api][rid]
        names = [n for n in res.order if n not in res.hidden]
        if isinstance(display, dict):
            names = [n for n in names if n in display]
        fields = [self.field_out(res, rid, record, n, langs, echo) for n in names]
        assocs = None
        if res.associations and (
            display == "full" or (isinstance(display, dict) and any(v is not None for v in display.values()))
        ):
            assocs = self.associations(res, rid, display)
        return {"node": res.node, "id": rid, "fields": fields, "associations": assocs}

    def schema_entity(self, res: Resource, schema: str, langs: list[int]) -> dict:
        fields = []
        for name in res.order:
            if name in res.hidden or (name == "id" and schema == "synopsis"):
                continue
            ws = res.ws.get(name)
            if schema == "blank" and ws is not None and ws.setter is False:
                continue
            f = res.defs.get(name)
            attrs: dict[str, str] = {}
            if schema == "synopsis":
                if ws is not None and (ws.getter is not None or ws.has_getter_key):
                    attrs["notFilterable"] = "true"
                if ws is not None and ws.setter is False:
                    attrs["read_only"] = "true"
                if f is not None:
                    if f.required:
                        attrs["required"] = "true"
                    if f.size:
                        attrs["maxSize"] = str(f.size)
                    if f.validate:
                        attrs["format"] = f.validate
            if f is not None and f.lang:
                fields.append((name, None, attrs, [(lid, "", "") for lid in langs]))
            else:
                fields.append((name, "", attrs, None))
        assocs = []
        for name, assoc in res.associations.items():
            attrs = {"nodeType": assoc.resource, "api": assoc.api or name}
            item_fields = [(fname, "", {}, None) for fname, _x in assoc.fields]
            assocs.append((name, attrs, [(assoc.resource, {}, item_fields)]))
        return {"node": res.node, "fields": fields, "associations": assocs or None}

    # ================================================================================================ write

    def parse_xml(self) -> etree._Element:
        body = self.body or b""
        if body.startswith(b"xml="):
            body = body[4:]
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        try:
            root = etree.fromstring(body, parser)
        except etree.XMLSyntaxError as exc:
            text = body.decode("utf-8", "replace")
            if body.strip():
                reason = str(exc).split(" (line")[0]
                self.errors.append(
                    php_warning(
                        f"SimpleXMLElement::__construct(): Entity: line 1: parser error : {reason}",
                        "webservice/WebserviceRequest.php",
                        1544,
                    )
                )
                self.errors.append(
                    php_warning(
                        f"SimpleXMLElement::__construct(): {text.splitlines()[0][:80]}",
                        "webservice/WebserviceRequest.php",
                        1544,
                    )
                )
                self.errors.append(
                    php_warning("SimpleXMLElement::__construct(): ^", "webservice/WebserviceRequest.php", 1544)
                )
            self.fail(
                500,
                "XML error : String could not be parsed as XML\nXML length : "
                + str(len(body))
                + "\nOriginal XML : "
                + text,
                127,
            )
        return root

    def save(self, res: Resource, success_status: int) -> None:
        root = self.parse_xml()
        entities = [e for e in root if isinstance(e.tag, str)]
        ids = [php_int(child_text(e, "id")) for e in entities if child_text(e, "id") not in (None, "")]
        if self.method in ("PUT", "PATCH"):
            if len(set(ids)) != len(ids):
                self.fail(400, "id is duplicate in request", 89)
            if len(entities) != len(ids):
                self.fail(400, "id is required when modifying a resource", 90)
        elif ids:
            self.fail(400, "id is forbidden when adding a new resource", 91)
        objects = []
        for entity in entities:
            objects.append(self.save_entity(res, entity))
        if self.errors:
            raise WsError
        self.status = success_status
        langs = self.store.active_language_ids()
        rendered = [self.entity(res, rid, "full", langs, echo) for rid, echo in objects]
        if self.json:
            body = (
                render.json_entity_body(rendered[0])
                if len(rendered) == 1
                else [render.json_entity_body(r) for r in rendered]
            )
            self.output = render.json_document({res.node: body})
        else:
            self.output = render.xml_document("".join(render.xml_entity(r) for r in rendered))

    def save_entity(self, res: Resource, entity: etree._Element) -> tuple[int, dict]:
        store = self.store
        method = self.method
        if method == "POST":
            rid = None
            obj: dict = {}
        else:
            rid = php_int(child_text(entity, "id"))
            if rid not in store.tables[res.api]:
                self.fail(404, "Invalid ID", 92)
            record = store.tables[res.api][rid]
            obj = {k: (dict(v) if isinstance(v, dict) else v) for k, v in record.items()}
        echo: dict = {}
        deferred: list = []  # setters with immediate effect in PHP, applied in order
        has_i18n = False
        for name in res.order:
            node = child(entity, name)
            if method == "PATCH" and node is None:
                continue
            f = res.defs.get(name)
            ws = res.ws.get(name)
            is_lang = f is not None and f.lang
            if node is not None and not is_lang:
                text = element_text(node)
                if ws is not None and ws.setter is not None:
                    if ws.setter is False:
                        self.fail(400, f'parameter "{name}" not writable. Please remove this attribute of this XML', 93)
                    self.run_setter(res, rid, obj, name, text, deferred)
                elif res.has_property(name):
                    obj[name] = text
                    echo[name] = text
                else:
                    self.error(400, f'Parameter "{name}" can\'t be set to the object "{res.class_name}"', 123)
            elif f is not None and f.required and not is_lang:
                self.fail(400, f'parameter "{name}" required', 41)
            elif (f is None or not f.required) and res.has_property(name) and name != "id":
                obj[name] = None
                echo[name] = ""
            if is_lang:
                has_i18n = True
                languages = [c for c in node if c.tag == "language"] if node is not None else []
                if node is not None and languages:
                    current = obj.get(name)
                    values = dict(current) if isinstance(current, dict) else {}
                    for lang_node in languages:
                        values[php_int(lang_node.get("id"))] = element_text(lang_node)
                    obj[name] = values
                else:
                    obj[name] = element_text(node) if node is not None else ""
                echo[name] = obj[name]
        if res.api == "products" and method == "POST":
            self.modifier_link_rewrite(obj, echo)
        if self.errors:
            raise WsError
        if has_i18n:
            message = self.validate_lang(res, obj)
            if message:
                self.fail(400, f'Validation error: "{message}"', 84)
        message = self.validate_fields(res, obj)
        if message:
            self.fail(400, f'Validation error: "{message}"', 85)
        for name in ("condition", "visibility"):
            if name in res.defs and not obj.get(name):
                obj[name] = res.defs[name].default
        if (
            res.api == "stock_availables"
            and obj.get("depends_on_stock") not in (None, "", "0")
            and php_int(obj.get("depends_on_stock"))
        ):
            self.error(500, "You cannot update the available stock when it depends on stock.", 133)
            self.fail(500, "Unable to save resource", 46)
        rid = self.persist(res, rid, obj)
        self.wrote = True
        for apply in deferred:
            apply(rid)
        if "date_add" in res.defs and "date_add" in echo and method == "POST":
            echo["date_add"] = store.tables[res.api][rid]["date_add"]
        if "id_shop_default" in echo:
            echo["id_shop_default"] = store.tables[res.api][rid]["id_shop_default"]
        if "date_upd" in res.defs and "date_upd" in echo:
            echo["date_upd"] = store.tables[res.api][rid]["date_upd"]
        assoc_node = child(entity, "associations")
        if assoc_node is not None:
            for assoc in assoc_node:
                if not isinstance(assoc.tag, str):
                    continue
                if assoc.tag in res.associations:
                    items = [
                        {c.tag: element_text(c) for c in item if isinstance(c.tag, str)}
                        for item in assoc
                        if isinstance(item.tag, str)
                    ]
                    self.set_association(res, rid, assoc.tag, items)
                elif assoc.tag != "i18n":
                    self.fail(400, f'The association "{assoc.tag}" does not exists', 86)
        return rid, echo

    def run_setter(self, res: Resource, rid: int | None, obj: dict, name: str, text: str, deferred: list) -> None:
        store = self.store
        if res.api != "products":
            return
        if name == "position_in_category":
            if php_int(text) <= 0 if is_numeric(text) else True:
                self.error(500, "You cannot set 0 or a negative position, the minimum is 1.", 134)
                return
            members = store.category_products.get(php_int(obj.get("id_category_default")), [])
            if php_int(text) > len(members):
                self.error(
                    500,
                    "You cannot set a position greater than the total number of products in the "
                    "category, starting at 1.",
                    135,
                )
                return
            if rid is not None and rid in members:
                members.remove(rid)
                members.insert(php_int(text) - 1, rid)
        elif name == "id_default_image":

            def set_cover(product_id: int, image_id: int = php_int(text)) -> None:
                for image in store.product_images(product_id):
                    image["cover"] = False
                if image_id in store.images:
                    store.images[image_id]["cover"] = True

            if rid is not None:
                set_cover(rid)
            else:
                deferred.append(set_cover)

    def modifier_link_rewrite(self, obj: dict, echo: dict) -> None:
        """Product::modifierWsLinkRewrite (POST only): a slug from the name where none or an invalid one came."""
        names = obj.get("name")
        if not isinstance(names, dict):
            self.error(
                500,
                f"[PHP Warning #2] foreach() argument must be of type array|object, string given "
                f"({PHP_SRC}/Product.php, line 8100)",
                3,
            )
            return
        rewrite = obj.get("link_rewrite")
        rewrite = dict(rewrite) if isinstance(rewrite, dict) and rewrite else {}
        for lid, name in names.items():
            if php_empty(rewrite.get(lid)):
                rewrite[lid] = str2url(name)
            elif not VALIDATORS["isLinkRewrite"](rewrite[lid]):
                rewrite[lid] = str2url(rewrite[lid])
        obj["link_rewrite"] = rewrite
        echo["link_rewrite"] = rewrite

    # ---------------------------------------------------------------------------------------- validation

    def validate_field(self, res: Resource, f: Field, value, lang_id: int | None = None) -> str | None:
        cls = res.class_name
        if (lang_id is None or lang_id == DEFAULT_LANG) and f.required and (value is None or str(value).strip() == ""):
            return f"Property {cls}->{f.name} is empty."
        if php_empty(value) and f.default:
            value = f.default
        if f.values is not None and (value if value is not None else "") not in f.values:
            return f"Property {cls}->{f.name} has a bad value (allowed values are: {', '.join(f.values)})."
        if f.size:
            length = len(value or "")
            if length > f.size:
                return (
                    f"The length of property {cls}->{f.name} is currently {length} chars. It must be between 0 "
                    f"and {f.size} chars."
                )
        if f.range and value not in (None, ""):
            number = php_int(value)
            if number < f.range[0] or number > f.range[1]:
                return (
                    f"The range of property {cls}->{f.name} is currently {number}. It must be between "
                    f"{f.range[0]} and {f.range[1]}."
                )
        if f.validate and not php_empty(value) and not VALIDATORS[f.validate](value):
            return f"Property {cls}->{f.name} is not valid"
        return None

    def validate_lang(self, res: Resource, obj: dict) -> str | None:
        for f in res.fields:
            if not f.lang:
                continue
            values = obj.get(f.name)
            values = dict(values) if isinstance(values, dict) else {None: values or ""}
            values.setdefault(DEFAULT_LANG, "")
            for lid, value in values.items():
                message = self.validate_field(res, f, value, lid)
                if message:
                    return message
        return None

    def validate_fields(self, res: Resource, obj: dict) -> str | None:
        for f in res.fields:
            if not f.lang:
                message = self.validate_field(res, f, obj.get(f.name))
                if message:
                    return message
        return None

    # ---------------------------------------------------------------------------------------- persistence

    def stored_value(self, res: Resource, f: Field, value):
        if f.lang:
            langs = self.store.language_ids()
            if not isinstance(value, dict):
                return {lid: self.stored_text(f, value or "") for lid in langs}
            default = value.get(DEFAULT_LANG, "")
            return {lid: self.stored_text(f, value.get(lid) or (default if f.required else "")) for lid in langs}
        if f.type in ("int", "bool"):
            if value is None and f.allow_null:
                return None
            return str(php_int(value))
        if f.type == "float":
            return mysql_decimal(value, 6) if res.decimals else str(php_decimal(value))
        if f.type == "date":
            if php_empty(value):
                return "0000-00-00 00:00:00" if f.name.startswith("date_") else "0000-00-00"
            return str(value)
        return self.stored_text(f, "" if value is None else str(value))

    @staticmethod
    def stored_text(f: Field, text: str) -> str:
        return text if f.type == "html" else strip_tags(text)

    def persist(self, res: Resource, rid: int | None, obj: dict) -> int:
        store = self.store
        stamp = now()
        if "id_shop_default" in res.defs and not php_int(obj.get("id_shop_default")):
            obj["id_shop_default"] = str(SHOP_ID)  # ObjectModel::add/update: Shop::checkIdShopDefault()
        values = {f.name: self.stored_value(res, f, obj.get(f.name)) for f in res.fields}
        if "date_add" in res.defs:
            if rid is None or php_empty(obj.get("date_add")):
                values["date_add"] = stamp if rid is None else store.tables[res.api][rid]["date_add"]
            values["date_upd"] = stamp
        if res.api == "product_features" and php_int(obj.get("position")) <= 0 and rid is None:
            positions = [php_int(r["position"]) for r in store.tables["product_features"].values()]
            values["position"] = str(max(positions, default=-1) + 1)
        if rid is None:
            rid = store.insert(res.api, values)
            if res.api == "products":
                store.insert(
                    "stock_availables",
                    {
                        "id_product": str(rid),
                        "id_product_attribute": "0",
                        "id_shop": str(SHOP_ID),
                        "id_shop_group": "0",
                        "quantity": "0",
                        "depends_on_stock": "0",
                        "out_of_stock": "2",
                        "location": "",
                    },
                )
        else:
            store.tables[res.api][rid].update(values)
        return rid

    def set_association(self, res: Resource, rid: int, name: str, items: list[dict]) -> None:
        store = self.store
        if res.api == "products" and name == "categories":
            store.set_product_categories(rid, [php_int(i.get("id")) for i in items])
        elif res.api == "products" and name == "product_features":
            rows = []
            for item in items:
                if "id" not in item or "id_feature_value" not in item:
                    missing = "id" if "id" not in item else "id_feature_value"
                    self.fail(
                        500, f'[PHP Warning #2] Undefined array key "{missing}" ({PHP_SRC}/Product.php, line 6944)', 3
                    )
                rows.append((php_int(item["id"]), php_int(item["id_feature_value"])))
            store.product_features[rid] = list(dict.fromkeys(rows))

    # ================================================================================================ DELETE

    def delete(self, res: Resource) -> None:
        raw = self.params.get("id")
        if raw is not None:
            m = re.fullmatch(r"\[(.*)\]", str(raw))
            ids = m.group(1).split(",") if m else []
        else:
            ids = [self.segments[1] if len(self.segments) > 1 else ""]
        missing = [i for i in ids if php_int(i) not in self.store.tables[res.api]]
        if missing or not ids:
            self.fail(404, "Id(s) not exists: " + ", ".join(missing), 87)
        for raw_id in ids:
            self.delete_one(res, php_int(raw_id))
        self.wrote = True
        self.output_enabled = False

    def delete_one(self, res: Resource, rid: int) -> None:
        store = self.store
        if res.api == "products":
            store.delete_product(rid)
            return
        store.tables[res.api].pop(rid, None)
        if res.api == "product_features":
            for vid, value in list(store.tables["product_feature_values"].items()):
                if value["id_feature"] == str(rid):
                    store.tables["product_feature_values"].pop(vid)
            for pid, rows in store.product_features.items():
                store.product_features[pid] = [r for r in rows if r[0] != rid]
        elif res.api == "product_feature_values":
            for pid, rows in store.product_features.items():
                store.product_features[pid] = [r for r in rows if r[1] != rid]
        elif res.api == "manufacturers":
            for product in store.tables["products"].values():
                if product["id_manufacturer"] == str(rid):
                    product["id_manufacturer"] = "0"
        elif res.api == "categories":
            for pid in store.category_products.pop(rid, []):
                store.product_categories[pid] = [c for c in store.product_categories.get(pid, []) if c != rid]


def child(element: etree._Element, name: str):
    for node in element:
        if node.tag == name:
            return node
    return None


def element_text(element: etree._Element) -> str:
    """SimpleXMLElement cast to string: the element's own text nodes (CDATA included), not its children's."""
    parts = [element.text or ""]
    parts += [c.tail or "" for c in element]
    return "".join(parts)


def child_text(element: etree._Element, name: str) -> str | None:
    node = child(element, name)
    return None if node is None else element_text(node)


class ImagesHandler:
    """WebserviceSpecificManagementImages for product images."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx, self.store = ctx, ctx.store

    def run(self) -> None:
        ctx, segs = self.ctx, self.ctx.segments + ["", "", "", ""]
        kind, pid_raw, image_raw = segs[1], segs[2], segs[3]
        if kind == "":
            out = "<image_types>\n"
            for name in ("general", "products", "categories", "manufacturers", "suppliers", "stores", "customizations"):
                out += f'<{name} xlink:href="{ctx.ws_url}images/{name}"/>\n'
            ctx.output = render.xml_document(out + "</image_types>\n")
            return
        if kind != "products":
            ctx.fail(401, f'Resource of type "images/{kind}" is not allowed with this authentication key', 26)
        with self.store.lock:
            if pid_raw == "":
                self.list_products()
                return
            if not VALIDATORS["isUnsignedId"](pid_raw):
                ctx.fail(400, 'The image id is invalid. Please set a valid id or the "default" value', 60)
            pid = int(pid_raw)
            available = [i["id"] for i in self.store.product_images(pid)]
            if image_raw != "":
                if image_raw == "bin":
                    image_raw = str(self.store.cover_id(pid) or "")
                if php_int(image_raw) not in available or not image_raw.isdigit():
                    ctx.fail(400, "This image id does not exist", 57)
                self.one(pid, int(image_raw))
                return
            if ctx.method in ("GET", "HEAD"):
                if not available:
                    ctx.status = 404
                    ctx.output_enabled = False
                    return
                out = f'<image id="{pid}">\n'
                for iid in available:
                    out += f'<declination id="{iid}" xlink:href="{ctx.ws_url}images/products/{pid}/{iid}"/>\n'
                ctx.output = render.xml_document(out + "</image>\n")
                return
            if ctx.method == "POST":
                self.upload(pid)
                return
            if ctx.method == "DELETE":
                ctx.fail(500, "This image does not exist on disk", 64)
            if ctx.method == "PUT":
                ctx.fail(500, "This image does not exist on disk", 63)
            ctx.fail(405, "This method is not allowed", 67)

    def list_products(self) -> None:
        ctx = self.ctx
        if ctx.method not in ("GET", "HEAD"):
            ctx.fail(405, "This method is not allowed for listing category images.", 55)
        pids = sorted({i["id_product"] for i in self.store.images.values()})
        out = "<image_types>\n"
        for tid, name, _w, _h in (
            (1, "cart_default", 125, 125),
            (2, "small_default", 98, 98),
            (3, "medium_default", 452, 452),
            (4, "home_default", 250, 250),
            (5, "large_default", 800, 800),
        ):
            out += f'<image_type id="{tid}" name="{name}" xlink:href="{ctx.ws_url}image_types/{tid}"/>\n'
        out += "</image_types>\n<images>\n"
        for pid in pids:
            out += f'<image id="{pid}" xlink:href="{ctx.ws_url}images/products/{pid}"/>\n'
        ctx.output = render.xml_document(out + "</images>\n")

    def one(self, pid: int, iid: int) -> None:
        ctx, image = self.ctx, self.store.images[iid]
        if ctx.method in ("GET", "HEAD"):
            if not image["served"]:
                ctx.fail(500, "This image does not exist on disk", 61)
            ctx.output = image["served"]
            ctx.content_type = "image/jpeg"
            return
        if ctx.method == "DELETE":
            self.store.images.pop(iid)
            for position, other in enumerate(self.store.product_images(pid), 1):
                other["position"] = position
            ctx.wrote = True
            return
        if ctx.method == "POST":
            ctx.fail(400, "This image already exists. To modify it, please use the PUT method", 65)
        if ctx.method == "PUT":
            self.replace(image)
            return
        ctx.fail(405, "This method is not allowed", 67)

    def uploaded_file(self) -> dict | None:
        content_type = self.ctx.headers.get("content-type", "")
        if "multipart/form-data" not in content_type or not self.ctx.body:
            return None
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + self.ctx.body
        )
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "image" and part.get_filename() is not None:
                data = part.get_payload(decode=True) or b""
                return {"name": part.get_filename(), "type": part.get_content_type(), "data": data}
        return None

    def check_upload(self, file: dict) -> None:
        ctx = self.ctx
        limit = self.ctx.ws.image_max_bytes
        if len(file["data"]) > limit:
            ctx.fail(400, f"The image size is too large (maximum allowed is {limit // 1000} KB)", 72)
        mime = sniff_mime(file["data"])
        if mime in ("", "regular file", "text/plain") and file["type"]:
            mime = file["type"]
        name = file["name"] or ""
        ext = name.rsplit(".", 1)[1].lower() if "." in name else None
        if not any(t in mime for t in IMAGE_MIME_SUPPORTED) or ext not in IMAGE_EXTENSIONS or "%00" in name:
            ctx.fail(
                400,
                "Image upload error : Image format not recognized, allowed formats are: " + ", ".join(IMAGE_EXTENSIONS),
                76,
            )

    def upload(self, pid: int) -> None:
        ctx, store = self.ctx, self.store
        file = self.uploaded_file()
        if file is None:
            ctx.fail(400, 'Please set an "image" parameter with image data for value', 76)
        self.check_upload(file)
        if pid not in store.tables["products"]:
            ctx.fail(400, f"Product {pid} does not exist", 76)
        images = store.product_images(pid)
        iid = store.next_image_id
        store.next_image_id += 1
        image = {
            "id": iid,
            "id_product": pid,
            "position": max((i["position"] for i in images), default=0) + 1,
            "cover": store.cover_id(pid) is None,
            "original": file["data"],
            "sha256": Store.sha256(file["data"]),
            "filename": file["name"],
            "served": None,
        }
        store.images[iid] = image  # Image::add() runs before the file is decoded
        ctx.wrote = True
        served = reencode(file["data"])
        if served is None:
            ctx.fail(400, "An error occurred while copying image", 76)
        image["served"] = served
        langs = store.active_language_ids()
        entity = {
            "node": "image",
            "fields": [
                ("id", str(iid), {}, None),
                ("id_product", str(pid), {"href": ctx.href("products", pid)}, None),
                ("position", str(image["position"]), {}, None),
                ("cover", "1" if image["cover"] else "", {}, None),
                ("legend", None, {}, ctx.lang_values({}, langs)),
            ],
            "associations": None,
        }
        content = f'<content encode="base64">{render.cdata(base64.b64encode(served).decode())}</content>\n'
        ctx.output = render.xml_document(render.xml_entity(entity) + content)

    def replace(self, image: dict) -> None:
        ctx = self.ctx
        file = self.uploaded_file()
        if file is None:
            ctx.fail(400, 'Please set an "image" parameter with image data for value', 76)
        limit = ctx.ws.image_max_bytes
        if len(file["data"]) > limit:
            ctx.fail(400, f"The image size is too large (maximum allowed is {limit // 1000} KB)", 72)
        mime = sniff_mime(file["data"])
        accepted = ("image/gif", "image/jpg", "image/jpeg", "image/pjpeg", "image/png", "image/webp", "image/x-png")
        if mime not in accepted:
            ctx.fail(
                400, "This type of image format is not recognized, allowed formats are: " + '", "'.join(accepted), 73
            )
        served = reencode(file["data"])
        if served is None:
            ctx.fail(500, "Unable to save this image.", 62)
        image.update(original=file["data"], sha256=Store.sha256(file["data"]), filename=file["name"], served=served)
        ctx.wrote = True
        ctx.output = served
        ctx.content_type = "image/jpeg"


__all__ = ["Response", "Webservice", "parse_params", "sniff_mime"]
