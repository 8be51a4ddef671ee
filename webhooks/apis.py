"""POST /api/webhooks/gesmart/products (docs/api.md, Webhook): the raw body is verified before it is parsed."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from catalog.validation import DeleteInput, ProductInput
from config.api.envelope import ok
from config.api.middleware import current_request_id
from config.api.schema import envelope, error_responses
from config.api.throttling import WebhookThrottle

from .services import SIGNATURE_HEADER, DeliveryMeta, delivery_receive

EXAMPLE_UPDATE = {
    "operation": "update",
    "reference": "PROD001",
    "name": "Updated Product Name",
    "price": 1499.99,
    "quantity": 75,
    "active": True,
}
EXAMPLE_RESPONSE = {
    "success": True,
    "message": "Webhook received and processing started",
    "data": {"syncId": "sync_webhook_xyz789", "reference": "PROD001", "queued": True},
}


class WebhookAcceptedSerializer(serializers.Serializer):
    syncId = serializers.CharField(source="sync_id")
    reference = serializers.CharField()
    queued = serializers.SerializerMethodField()

    class Meta:
        ref_name = "WebhookAccepted"

    @extend_schema_field(serializers.BooleanField())
    def get_queued(self, job) -> bool:
        return True


# The body is a product object (create/update) or a delete event, told apart by `operation`.
WEBHOOK_REQUEST = PolymorphicProxySerializer(
    component_name="WebhookEvent",
    serializers=[ProductInput, DeleteInput],
    resource_type_field_name=None,
)

WebhookAcceptedResponse = envelope("WebhookAcceptedResponse", WebhookAcceptedSerializer)


class GesmartWebhookApi(APIView):
    """No JWT: the HMAC signature is the authentication. Throttled per source IP."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookThrottle]

    @extend_schema(
        operation_id="webhooks_gesmart_products",
        summary="GeSmart ERP push: one product (create/update, converging) or a delete event",
        description=(
            "The `x-gesmart-signature` header is base64(HMAC-SHA256(raw body, GESMART_WEBHOOK_SECRET)), e.g. "
            '`echo -n "$PAYLOAD" | openssl dgst -sha256 -hmac "$WEBHOOK_SECRET" -binary | base64`. '
            "The delivery is stored and queued; the answer comes at once and the work happens in the worker. "
            "`update` of an unknown reference creates it, `create` of a known one updates it; "
            '`{"operation": "delete", "reference": "X"}` removes a product.'
        ),
        request=WEBHOOK_REQUEST,
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="base64 of HMAC-SHA256 over the raw request body with the webhook secret",
            )
        ],
        responses={
            200: OpenApiResponse(WebhookAcceptedResponse, description="Stored and queued; the worker does the rest."),
            **error_responses(400, 401, 413, 415, 422, 429, 500),
        },
        examples=[
            OpenApiExample("Product update", value=EXAMPLE_UPDATE, request_only=True),
            OpenApiExample("Delete event", value={"operation": "delete", "reference": "PROD001"}, request_only=True),
            OpenApiExample("Accepted", value=EXAMPLE_RESPONSE, response_only=True, status_codes=["200"]),
        ],
        auth=[],
    )
    def post(self, request):
        body = request.body  # the raw bytes, read before anything parses them
        meta = DeliveryMeta(
            source_ip=request.META.get("REMOTE_ADDR") or None,
            forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
            request_id=current_request_id(),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            content_type=request.META.get("CONTENT_TYPE", ""),
        )
        result = delivery_receive(
            body=body,
            signature=request.headers.get(SIGNATURE_HEADER),
            content_type=meta.content_type,
            meta=meta,
            encoding=request.encoding or "utf-8",
        )
        return ok(WebhookAcceptedSerializer(result).data, message="Webhook received and processing started")
