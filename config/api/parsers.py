"""JSON in, with numbers kept exact (prices are parsed as Decimal, never as float), and nothing in it that the
database or the shop could not hold: a NUL, a control character or a lone surrogate in any key or string, or
nesting deeper than any product object has, is a 400 naming the field (`brand.name`, `images[1].fileName`)."""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from .params import unsafe_text_reason

MAX_DEPTH = 16  # a product object nests 3 levels (images[2].base64); a batch 5


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _text_reason(value: str) -> str | None:
    return unsafe_text_reason(value.replace("\t", " ").replace("\n", " ").replace("\r", " "))


def _path(prefix: str, key: object) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


def json_document_check(document: object) -> None:
    """Raise ValidationError on the first string (key or value) that cannot be stored, or on too deep nesting."""
    stack: list[tuple[object, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            reason = _text_reason(value)
            if reason:
                raise ValidationError({path or "body": [reason]})
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise ValidationError({path or "body": [f"Nested deeper than {MAX_DEPTH} levels."]})
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                child = _path(path, key)
                if isinstance(key, str):
                    reason = _text_reason(key)
                    if reason:
                        raise ValidationError({(path or "body"): [f"Key {key!r}: {reason}"]})
                stack.append((item, child, depth + 1))


def json_parse(raw: bytes, encoding: str | None = None) -> object:
    encoding = encoding or settings.DEFAULT_CHARSET
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ParseError(f"Unknown charset {encoding!r} in the Content-Type header.")
    try:
        document = json.loads(raw.decode(encoding), parse_float=Decimal, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise ParseError(f"The body is not valid {encoding} text: {exc.reason} at byte {exc.start}.") from exc
    except RecursionError as exc:
        raise ParseError("Malformed JSON body: nested too deeply.") from exc
    except ValueError as exc:
        raise ParseError(f"Malformed JSON body: {exc}") from exc
    json_document_check(document)
    return document


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        raw = stream.read() if stream is not None else b""
        return json_parse(raw, parser_context.get("encoding"))
