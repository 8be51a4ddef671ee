"""The product object (docs/api.md, Product object): shape rules (400) and business rules (422), checked before any write.

`product_validate()` is the one entry point for the API, the batch and the webhook. It decodes and
verifies images (so a job never stores bytes that are not an image) and checks category ids against
the shop, so bad input is refused whole and changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.validators import RegexValidator
from PIL import Image, UnidentifiedImageError
from rest_framework import serializers

from config.api.errors import BusinessRuleError, detail

from .fields import FieldsBoundOnce, StrictBooleanField, StrictCharField, StrictDecimalField, StrictIntegerField

MAX_IMAGES = 10
MAX_TECHNICAL_DATA = 100
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_QUANTITY = 2_147_483_647
# File extension → the Pillow format the bytes must have.
IMAGE_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}
EAN13 = re.compile(r"^[0-9]{13}$")
REFERENCE_MAX = 64  # Product::$definition reference size
# PrestaShop 8 classes/Validate.php, the rules Product::$definition applies to what we send:
# isReference: /^[^<>;={}]*$/u (the RegexValidator on ProductInput.reference)
PRICE_WHOLE_DIGITS = 10  # isPrice: /^[0-9]{1,10}(\.[0-9]{1,9})?$/ (we keep 6 decimals)
# isCleanHtml (description): no <script, no on…= event attribute, no "script:", no iframe/frame/form/input/embed/object.
_HTML_EVENTS = (
    "onmousedown|onmousemove|onmmouseup|onmouseover|onmouseout|onload|onunload|onfocus|onblur|onchange"
    "|onsubmit|ondblclick|onclick|onkeydown|onkeyup|onkeypress|onmouseenter|onmouseleave|onerror|onselect|onreset"
    "|onabort|ondragdrop|onresize|onactivate|onafterprint|onmoveend"
    "|onafterupdate|onbeforeactivate|onbeforecopy|onbeforecut|onbeforedeactivate|onbeforeeditfocus|onbeforepaste"
    "|onbeforeprint|onbeforeunload|onbeforeupdate|onmove"
    "|onbounce|oncellchange|oncontextmenu|oncontrolselect|oncopy|oncut|ondataavailable|ondatasetchanged"
    "|ondatasetcomplete|ondeactivate|ondrag|ondragend|ondragenter|onmousewheel"
    "|ondragleave|ondragover|ondragstart|ondrop|onerrorupdate|onfilterchange|onfinish|onfocusin|onfocusout"
    "|onhashchange|onhelp|oninput|onlosecapture|onmessage|onmouseup|onmovestart"
    "|onoffline|ononline|onpaste|onpropertychange|onreadystatechange|onresizeend|onresizestart|onrowenter"
    "|onrowexit|onrowsdelete|onrowsinserted|onscroll|onsearch|onselectionchange"
    "|onselectstart|onstart|onstop"
)
_UNCLEAN_HTML = (
    (re.compile(r"<[\s]*script", re.I | re.M | re.S), "Must not contain a <script> tag."),
    (re.compile(rf"({_HTML_EVENTS})[\s]*=", re.I | re.M | re.S), "Must not contain an on… event attribute."),
    (re.compile(r".*script\:", re.I | re.M | re.S), "Must not contain a script: link."),
    (
        re.compile(r"<[\s]*(i?frame|form|input|embed|object)", re.I | re.M | re.S),
        "Must not contain iframe, frame, form, input, embed or object tags.",
    ),
)


def description_problem(value: str) -> str | None:
    """Why PrestaShop would refuse this description (Validate::isCleanHtml), or None."""
    for pattern, message in _UNCLEAN_HTML:
        if pattern.search(value):
            return message + " PrestaShop refuses it (isCleanHtml)."
    return None


DATA_URI = re.compile(r"^data:[\w/+.-]+;base64,", re.IGNORECASE)


class BrandInput(FieldsBoundOnce, serializers.Serializer):
    name = StrictCharField(max_length=255)
    description = StrictCharField(max_length=10_000, required=False, allow_blank=True, allow_null=True)

    class Meta:
        ref_name = "ProductBrandInput"


class ImageInput(FieldsBoundOnce, serializers.Serializer):
    fileName = StrictCharField(max_length=255)
    base64 = StrictCharField(trim_whitespace=False)

    class Meta:
        ref_name = "ProductImageInput"

    def validate_fileName(self, value: str) -> str:
        if "/" in value or "\\" in value or "\x00" in value:
            raise serializers.ValidationError("Must be a file name, not a path.")
        extension = value.rsplit(".", 1)[-1].lower() if "." in value else ""
        if extension not in IMAGE_FORMATS:
            raise serializers.ValidationError("Extension must be one of jpg, jpeg, png, gif, webp.")
        return value

    def validate_base64(self, value: str) -> bytes:
        text = DATA_URI.sub("", value.strip(), count=1)
        text = "".join(text.split())  # line-wrapped base64 (MIME style) is accepted
        if not text:
            raise serializers.ValidationError("Must not be empty.")
        # Reject before decoding when the decoded size must exceed the limit.
        if len(text) * 3 // 4 - text[-2:].count("=") > MAX_IMAGE_BYTES:
            raise serializers.ValidationError("Image is larger than 10 MB once decoded.")
        try:
            content = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("Not valid base64.")
        if not content:
            raise serializers.ValidationError("Must not be empty.")
        if len(content) > MAX_IMAGE_BYTES:
            raise serializers.ValidationError("Image is larger than 10 MB once decoded.")
        return content


class TechnicalDataInput(FieldsBoundOnce, serializers.Serializer):
    Gruppo = StrictCharField(max_length=255)
    Descrizione = StrictCharField(max_length=255)
    Valore = StrictCharField(max_length=255)
    Suffisso = StrictCharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    PrintOrder = StrictIntegerField(required=False, allow_null=True, min_value=-2_147_483_648, max_value=2_147_483_647)

    class Meta:
        ref_name = "ProductTechnicalDataInput"


class ProductInput(FieldsBoundOnce, serializers.Serializer):
    """The product object of docs/api.md ("Product object"), the ERP's data model."""

    operation = serializers.ChoiceField(choices=["create", "update"])
    reference = StrictCharField(
        max_length=REFERENCE_MAX,
        validators=[
            RegexValidator(
                r"^[^<>;={}]*$",
                message="Must not contain < > ; = { or } (PrestaShop refuses them in references).",
            )
        ],
    )
    name = StrictCharField(max_length=255)
    description = StrictCharField(max_length=10_000, required=False, allow_blank=True, allow_null=True)
    price = StrictDecimalField(max_digits=PRICE_WHOLE_DIGITS + 6, decimal_places=6, min_value=Decimal("0"))
    quantity = StrictIntegerField(min_value=0, max_value=MAX_QUANTITY)
    active = StrictBooleanField(required=False)
    categories = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=2_147_483_647),
        required=False,
        allow_null=True,
        max_length=250,
    )
    ean13 = StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=13,
        validators=[RegexValidator(r"^([0-9]{13})?$", message="Must be 13 digits, or empty.")],
    )
    weight = StrictDecimalField(
        max_digits=12, decimal_places=6, min_value=Decimal("0"), required=False, allow_null=True
    )
    brand = BrandInput(required=False, allow_null=True)
    # ListSerializer spelled out: `many=True` would pass allow_null to the items too, letting `[null]` through.
    images = serializers.ListSerializer(child=ImageInput(), required=False, allow_null=True, max_length=MAX_IMAGES)
    technical_data = serializers.ListSerializer(
        child=TechnicalDataInput(), required=False, allow_null=True, max_length=MAX_TECHNICAL_DATA
    )

    class Meta:
        ref_name = "ProductSyncInput"

    def validate_operation(self, value):
        if not isinstance(self.initial_data.get("operation"), str):
            raise serializers.ValidationError("Must be a string: create or update.")
        return value

    def validate_description(self, value):
        problem = description_problem(value) if value else None
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_ean13(self, value):
        if value and not EAN13.match(value):
            raise serializers.ValidationError("Must be 13 digits, or empty.")
        return value or ""


class DeleteInput(FieldsBoundOnce, serializers.Serializer):
    """A webhook delete event: `{"operation": "delete", "reference": "X"}`."""

    operation = serializers.ChoiceField(choices=["delete"])
    reference = StrictCharField(max_length=REFERENCE_MAX)

    class Meta:
        ref_name = "ProductDeleteEvent"


@dataclass(frozen=True)
class DecodedImage:
    file_name: str
    content: bytes
    sha256: str
    format: str
    width: int
    height: int


@dataclass
class ValidatedProduct:
    """A valid product object. `present` names the optional fields the request carried."""

    operation: str
    reference: str
    fields: dict
    present: set[str] = field(default_factory=set)
    images: list[DecodedImage] | None = None
    technical_data: list[dict] | None = None


def _verify_image(index: int, file_name: str, content: bytes) -> DecodedImage:
    expected = IMAGE_FORMATS[file_name.rsplit(".", 1)[-1].lower()]
    path = f"images[{index}].base64"
    try:
        with Image.open(io.BytesIO(content)) as image:
            actual = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise BusinessRuleError("Invalid image", details=[detail(path, "The bytes are not a valid image.")])
    if actual != expected:
        raise BusinessRuleError(
            "Invalid image",
            details=[detail(path, f"The bytes are a {actual} image, but the file name says {expected}.")],
        )
    return DecodedImage(
        file_name=file_name,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        format=actual.lower(),
        width=width,
        height=height,
    )


def product_validate(payload: object, *, check_categories=None) -> ValidatedProduct:
    """Validate one product object. Raises DRF ValidationError (400) or BusinessRuleError (422).

    `check_categories(ids) -> list[int]` returns the ids the shop does not have; the caller passes the
    shop-backed checker (it may raise RemoteUnavailable, in which case the check is left to the worker).
    """
    if not isinstance(payload, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    serializer = ProductInput(data=payload)
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)

    images = None
    if "images" in payload:
        images = [
            _verify_image(i, item["fileName"], item["base64"]) for i, item in enumerate(data.pop("images", None) or [])
        ]
    technical = None
    if "technical_data" in payload:
        technical = [
            {
                "gruppo": item["Gruppo"],
                "descrizione": item["Descrizione"],
                "valore": item["Valore"],
                "suffisso": item.get("Suffisso") or "",
                "print_order": item.get("PrintOrder") or 0,
            }
            for item in (data.pop("technical_data", None) or [])
        ]
    data.pop("images", None)
    data.pop("technical_data", None)

    if "categories" in payload:
        categories = list(dict.fromkeys(data.get("categories") or []))
        data["categories"] = categories
        if categories and check_categories is not None:
            unknown = check_categories(categories)
            if unknown:
                raise BusinessRuleError(
                    "Unknown category",
                    details=[detail("categories", f"Category {cid} does not exist in PrestaShop.") for cid in unknown],
                )
    if "description" in data and data["description"] is None:
        data["description"] = ""
    optional = {"description", "active", "categories", "ean13", "weight", "brand", "images", "technical_data"}
    present = {name for name in optional if name in payload}
    operation = data.pop("operation")
    reference = data.pop("reference")
    return ValidatedProduct(
        operation=operation,
        reference=reference,
        fields=data,
        present=present,
        images=images,
        technical_data=technical,
    )


def payload_for_storage(payload: dict, images: list[DecodedImage] | None) -> dict:
    """The request as received, with each image's base64 replaced by its hash and size."""
    stored = {k: v for k, v in payload.items() if k != "images"}
    if images is not None:
        stored["images"] = [
            {
                "fileName": img.file_name,
                "sha256": img.sha256,
                "size": len(img.content),
                "format": img.format,
                "width": img.width,
                "height": img.height,
            }
            for img in images
        ]
    elif "images" in payload:
        stored["images"] = payload["images"]
    return _json_safe(stored)


def json_number(value: Decimal):
    """A decimal the ERP sent as a JSON number, kept a number: the float when it prints back exactly the same
    (`1199.99`), else its exact text (a number no float holds; never a silently different number)."""
    as_float = float(value)
    return as_float if value.is_finite() and Decimal(repr(as_float)) == value else format(value, "f")


def _json_safe(value):
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value
