"""Small re-implementations of the PHP and MySQL behaviour the PrestaShop webservice relies on.

Casts (`(int)`, `(float)`, `empty()`), PrestaShop's `Validate::*` checks, `Tools::str2url`, `strip_tags`,
the `utf8mb4_general_ci` comparison MySQL applies to `filter[...]`, and `levenshtein()` for "did you mean".
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")
_LEADING_FLOAT = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
_NUMERIC = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$")
MYSQL_UNSIGNED_INT_MAX = 4294967295


def php_empty(value) -> bool:
    """PHP's empty(): null, "", "0", 0, [] are empty."""
    return value is None or value == "" or value == "0" or value == 0 or value == {} or value == []


def is_numeric(value) -> bool:
    return isinstance(value, int | float | Decimal) or (isinstance(value, str) and bool(_NUMERIC.match(value)))


def php_int(value) -> int:
    """PHP's (int) cast of a string: the leading integer, 0 when there is none."""
    if value is None:
        return 0
    if isinstance(value, bool | int):
        return int(value)
    text = str(value)
    match = _LEADING_FLOAT.match(text)
    if match and any(c in match.group(1) for c in ".eE"):
        try:
            return int(Decimal(match.group(1)))
        except (InvalidOperation, OverflowError):
            return 0
    match = _LEADING_INT.match(text)
    return int(match.group(1)) if match else 0


def php_decimal(value) -> Decimal:
    """PHP's (float) cast after PrestaShop's str_replace(',', '.') (ObjectModel::formatValue)."""
    if value is None:
        return Decimal(0)
    match = _LEADING_FLOAT.match(str(value).replace(",", "."))
    if not match:
        return Decimal(0)
    try:
        return Decimal(match.group(1))
    except InvalidOperation:
        return Decimal(0)


def mysql_decimal(value, places: int = 6) -> str:
    """How a DECIMAL(20,6) column reads back: `19.90` → `19.900000`."""
    quantum = Decimal(1).scaleb(-places)
    return str(php_decimal(value).quantize(quantum))


_TAG = re.compile(r"<[^>]*>")


def strip_tags(text: str) -> str:
    return _TAG.sub("", text)


# ---------------------------------------------------------------------------------------------- Validate.php


def _is_unsigned_int(value) -> bool:
    if not isinstance(value, str | int):
        return False
    text = str(value)
    return str(php_int(text)) == text and 0 <= php_int(text) <= MYSQL_UNSIGNED_INT_MAX


def _is_int(value) -> bool:
    return str(php_int(value)) == str(value)


def _is_unsigned_float(value) -> bool:
    # (string)(float)$v == (string)$v: PHP 8 compares two numeric strings as numbers.
    return is_numeric(value) and Decimal(str(value).strip()) >= 0


def _is_float(value) -> bool:
    return is_numeric(value)


_EVENT_ATTR = re.compile(r"<\s*\w+[^>]*\s(on\w+)=[\"'][^\"']*[\"']", re.I | re.S)
_DANGEROUS_HTML = re.compile(r"<\s*script|<\s*(?:i?frame|form|embed|object)\b|javascript\s*:|vbscript\s*:", re.I)

VALIDATORS = {
    "isCatalogName": lambda v: bool(re.fullmatch(r"[^<>;=#{}]*", v)),
    "isGenericName": lambda v: php_empty(v) or bool(re.fullmatch(r"[^<>={}]*", v)),
    "isReference": lambda v: bool(re.fullmatch(r"[^<>;={}]*", v)),
    "isLinkRewrite": lambda v: bool(re.fullmatch(r"[_a-zA-Z0-9\-]+", v)),
    "isPrice": lambda v: bool(re.fullmatch(r"[0-9]{1,10}(\.[0-9]{1,9})?", v)),
    "isBool": lambda v: v is None or bool(re.fullmatch(r"(0|1)\n?", v)),
    "isUnsignedFloat": _is_unsigned_float,
    "isFloat": _is_float,
    "isEan13": lambda v: php_empty(v) or bool(re.fullmatch(r"[0-9]{0,13}", v)),
    "isIsbn": lambda v: php_empty(v) or bool(re.fullmatch(r"[0-9-]{0,32}", v)),
    "isUpc": lambda v: php_empty(v) or bool(re.fullmatch(r"[0-9]{0,12}", v)),
    "isMpn": lambda v: len(v) <= 40,
    "isUnsignedId": _is_unsigned_int,
    "isUnsignedInt": _is_unsigned_int,
    "isPositiveInt": lambda v: _is_unsigned_int(v) and php_int(v) > 0,
    "isInt": _is_int,
    "isString": lambda v: isinstance(v, str),
    "isCleanHtml": lambda v: not _EVENT_ATTR.search(v) and not _DANGEROUS_HTML.search(v),
    "isProductVisibility": lambda v: bool(re.match(r"^both|catalog|search|none$", v, re.I)),
    "isDateFormat": lambda v: bool(
        re.fullmatch(
            r"([0-9]{4})-((0?[0-9])|(1[0-2]))-((0?[0-9])|([1-2][0-9])|(3[01]))( [0-9]{2}:[0-9]{2}:[0-9]{2})?", v
        )
    ),
    "isDate": lambda v: bool(
        re.fullmatch(
            r"([0-9]{4})-((?:0?[0-9])|(?:1[0-2]))-((?:0?[0-9])|(?:[1-2][0-9])|(?:3[01]))"
            r"( [0-9]{2}:[0-9]{2}:[0-9]{2})?",
            v,
        )
    ),
    "isLanguageIsoCode": lambda v: bool(re.fullmatch(r"[a-zA-Z]{2,3}", v)),
    "isLanguageCode": lambda v: bool(re.fullmatch(r"[a-zA-Z]{2}(-[a-zA-Z]{2})?", v)),
    "isLocale": lambda v: bool(re.fullmatch(r"[a-z]{2}-[A-Z]{2}", v)),
    "isPhpDateFormat": lambda v: bool(re.fullmatch(r"[^<>]+", v)),
}


# ---------------------------------------------------------------------------------------------- Tools::str2url

_ASCII_EXTRA = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "ø": "o",
    "Ø": "O",
    "œ": "oe",
    "Œ": "OE",
    "đ": "d",
    "Đ": "D",
    "ł": "l",
    "Ł": "L",
    "þ": "th",
    "ð": "d",
    "ı": "i",
}


def to_ascii(text: str) -> str:
    """ICU's `Any-Latin; Latin-ASCII` for the Latin scripts a shop catalogue uses."""
    text = "".join(_ASCII_EXTRA.get(c, c) for c in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def str2url(text: str) -> str:
    """Tools::str2url with PS_ALLOW_ACCENTED_CHARS_URL off (the default)."""
    out = to_ascii(text.strip().lower())
    out = "".join(
        c
        for c in out
        if (c.isascii() and (c.isalnum() or c in " \t\n\r\x0b\x0c':/[]-")) or (not c.isascii() and c.isalpha())
    )
    out = re.sub(r"[\s':/\[\]\-]+", " ", out)
    return out.replace(" ", "-").replace("/", "-")


# ---------------------------------------------------------------------------------------------- MySQL collation


def collate(text: str) -> str:
    """utf8mb4_general_ci: accents and case ignored, trailing spaces ignored (PAD SPACE)."""
    folded = to_ascii(text).upper()
    return folded.rstrip(" ")


def like(value: str, pattern: str) -> bool:
    """MySQL LIKE under utf8mb4_general_ci: `%` any run, `_` one character, `\\` escapes."""
    regex = ["^"]
    chars = collate(pattern) if not pattern.endswith(" ") else to_ascii(pattern).upper()
    i = 0
    while i < len(chars):
        c = chars[i]
        if c == "\\" and i + 1 < len(chars):
            regex.append(re.escape(chars[i + 1]))
            i += 2
            continue
        regex.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    regex.append("$")
    return re.match("".join(regex), to_ascii(value).upper(), re.S) is not None


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def closest(word: str, words) -> str:
    """WebserviceRequest::getClosest: the last word with the smallest levenshtein distance."""
    best, shortest = "", -1
    for candidate in words:
        distance = levenshtein(word, candidate)
        if distance == 0:
            return candidate
        if distance <= shortest or shortest < 0:
            best, shortest = candidate, distance
    return best
