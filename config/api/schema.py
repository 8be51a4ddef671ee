"""The envelope of docs/api.md, Envelope, described once: these serializers render the answers and produce the schema.

`ErrorEnvelopeSerializer` is the body of every error (400 … 502) of every endpoint; `error_responses()`
lists, per endpoint, the status codes it answers with that envelope. `envelope()` wraps an endpoint's
own `data` serializer into the success envelope.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

SYNC_STATUSES = ["pending", "processing", "completed", "failed", "partial"]  # docs/api.md, Endpoints
SYNC_OPERATIONS = ["create", "update", "delete"]
SYNC_SOURCES = ["api", "batch", "webhook", "schedule", "admin", "command", "import"]

# Why each status code is answered (docs/api.md, Envelope and Endpoints); the schema says it once per endpoint.
STATUS_DESCRIPTIONS = {
    400: "Invalid input: malformed JSON, a wrong type, a missing field, a value out of range. "
    "`details` has one entry per bad field (a path such as `images[2].base64`).",
    401: "Missing, invalid or expired token (or, for the webhook, a missing or wrong signature; for login, "
    "wrong credentials).",
    403: "Authenticated, but not allowed.",
    404: "Unknown reference, sync record or path.",
    405: "Method not allowed on this path.",
    409: "`create` for a reference the service already has.",
    413: "Body over `API_MAX_BODY_MB`.",
    415: "Content type other than JSON.",
    422: "Valid JSON that breaks a business rule (unknown category, bytes that are not the image the name says).",
    429: "Over the rate limit; see the `Retry-After` header.",
    500: "Unexpected server error (logged with the request id).",
    502: "PrestaShop failed or did not answer in time; the job is kept and retried in the background, "
    "`data.syncId` names it.",
}

ERROR_EXAMPLES = {
    400: {
        "success": False,
        "error": "Validation failed",
        "details": [{"field": "price", "message": "Ensure this value is greater than or equal to 0."}],
    },
    401: {"success": False, "error": "Authentication credentials were not provided", "details": []},
    404: {"success": False, "error": "Product not found", "details": [{"field": "reference", "message": "..."}]},
    409: {
        "success": False,
        "error": "Product already exists",
        "details": [{"field": "reference", "message": "A product with reference 'PROD001' already exists."}],
    },
    422: {
        "success": False,
        "error": "Unknown category",
        "details": [{"field": "categories", "message": "Category 999 does not exist in PrestaShop."}],
    },
    429: {"success": False, "error": "Too many requests", "details": []},
    502: {
        "success": False,
        "error": "PrestaShop API communication error",
        "details": [{"field": "", "message": "PrestaShop did not answer within 30 s"}],
        "data": {"syncId": "sync_abc123xyz", "status": "pending", "reference": "PROD001", "retrying": True},
    },
}


class ErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="Path of the bad field (`price`, `brand.name`, `images[2].base64`); empty for the body as a whole.",
        allow_blank=True,
    )
    message = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "ErrorDetail"


class ErrorSyncRefSerializer(serializers.Serializer):
    """The sync job of a failed request (a 502), so the caller can follow it."""

    syncId = serializers.CharField()
    status = serializers.ChoiceField(choices=SYNC_STATUSES)
    reference = serializers.CharField(required=False)
    productId = serializers.IntegerField(required=False, allow_null=True)
    retrying = serializers.BooleanField(required=False, help_text="The job is retried in the background.")

    class Meta:
        ref_name = "ErrorSyncRef"


class ErrorEnvelopeSerializer(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always false.")
    error = serializers.CharField(help_text="A short sentence.")
    details = ErrorDetailSerializer(many=True)
    data = ErrorSyncRefSerializer(required=False)

    class Meta:
        ref_name = "ErrorEnvelope"


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(
            ErrorEnvelopeSerializer,
            description=STATUS_DESCRIPTIONS[code],
            examples=[OpenApiExample(f"{code}", value=ERROR_EXAMPLES[code], status_codes=[str(code)])]
            if code in ERROR_EXAMPLES
            else [],
        )
        for code in codes
    }


# The codes any authenticated endpoint with a JSON body can answer besides its own.
BODY_ERRORS = (400, 401, 413, 415, 429, 500)
QUERY_ERRORS = (400, 401, 404, 429, 500)


def envelope(name: str, data: serializers.Serializer | type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The success envelope `{"success": true, "message": "...", "data": {...}}` around `data`."""
    attrs = {
        "success": serializers.BooleanField(help_text="Always true."),
        "message": serializers.CharField(required=False),
        "data": data() if isinstance(data, type) else data,
        "Meta": type("Meta", (), {"ref_name": name}),
    }
    return type(name, (serializers.Serializer,), attrs)
