"""The Products Sync API (SPEC §4.4). Views parse and answer; services do the work."""

from __future__ import annotations

from datetime import UTC, datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView

from catalog.validation import ProductInput
from config.api.envelope import ok
from syncjobs.models import SyncJob, SyncStatus
from syncjobs.services.sync import (
    job_get_by_sync_id,
    job_summary,
    product_delete,
    product_sync,
    products_sync_batch,
)

TRUE = {"1", "true", "yes", "on"}

EXAMPLE_PRODUCT = {
    "operation": "create",
    "reference": "PROD001",
    "name": "Professional Coffee Machine",
    "description": "High-end espresso machine",
    "price": 1299.99,
    "quantity": 50,
    "active": True,
    "categories": [5, 12],
    "brand": {"name": "CoffeePro"},
}

ERROR = inline_serializer(
    "ErrorEnvelope",
    {
        "success": serializers.BooleanField(default=False),
        "error": serializers.CharField(),
        "details": inline_serializer(
            "ErrorDetail", {"field": serializers.CharField(), "message": serializers.CharField()}, many=True
        ),
        "data": inline_serializer(
            "ErrorSyncRef", {"syncId": serializers.CharField(), "status": serializers.CharField()}, required=False
        ),
    },
)
SYNC_RESULT = inline_serializer(
    "ProductSyncResult",
    {
        "productId": serializers.IntegerField(),
        "reference": serializers.CharField(),
        "presta_id": serializers.IntegerField(allow_null=True),
        "syncId": serializers.CharField(),
        "operation": serializers.CharField(),
        "status": serializers.ChoiceField(choices=SyncStatus.values),
        "imagesProcessed": serializers.IntegerField(),
        "technicalDataProcessed": serializers.IntegerField(),
        "warnings": serializers.ListField(child=serializers.CharField()),
    },
)
FORCE = OpenApiParameter(
    "force",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="Push every part to the shop even if nothing changed (restores manual edits).",
)
ERRORS = {400: ERROR, 401: ERROR, 404: ERROR, 409: ERROR, 413: ERROR, 415: ERROR, 422: ERROR, 429: ERROR, 502: ERROR}


def iso_ms(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _flag(request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in TRUE


def _envelope(name: str, data) -> serializers.Serializer:
    return inline_serializer(
        name,
        {"success": serializers.BooleanField(), "message": serializers.CharField(required=False), "data": data},
    )


class ProductSyncApi(APIView):
    """`/api/products/sync`: POST syncs one product, GET reads a sync record, DELETE removes a product."""

    @extend_schema(
        operation_id="products_sync",
        summary="Synchronize one product now (create or update)",
        request=ProductInput,
        parameters=[FORCE],
        responses={200: _envelope("ProductSyncResponse", SYNC_RESULT), **ERRORS},
        examples=[OpenApiExample("Create a product", value=EXAMPLE_PRODUCT, request_only=True)],
    )
    def post(self, request):
        job = product_sync(payload=request.data, user=request.user, force=_flag(request, "force"))
        message = (
            "Product synchronized successfully"
            if job.status == SyncStatus.COMPLETED
            else "Product synchronized, but part of it was refused by the shop"
        )
        return ok(job_summary(job), message=message)

    @extend_schema(
        operation_id="products_sync_status",
        summary="Read one sync record",
        parameters=[OpenApiParameter("syncId", str, OpenApiParameter.QUERY, required=True)],
        responses={
            200: _envelope(
                "SyncStatusResponse",
                inline_serializer(
                    "SyncStatus",
                    {
                        "syncId": serializers.CharField(),
                        "reference": serializers.CharField(),
                        "status": serializers.ChoiceField(choices=SyncStatus.values),
                        "operation": serializers.CharField(),
                        "source": serializers.CharField(),
                        "startedAt": serializers.DateTimeField(allow_null=True),
                        "completedAt": serializers.DateTimeField(allow_null=True),
                        "duration": serializers.IntegerField(allow_null=True, help_text="milliseconds"),
                        "productId": serializers.IntegerField(allow_null=True),
                        "presta_id": serializers.IntegerField(allow_null=True),
                        "error": serializers.CharField(allow_null=True),
                        "warnings": serializers.ListField(child=serializers.CharField()),
                        "attempts": serializers.IntegerField(),
                    },
                ),
            ),
            400: ERROR,
            401: ERROR,
            404: ERROR,
        },
    )
    def get(self, request):
        sync_id = request.query_params.get("syncId", "").strip()
        if not sync_id:
            raise ValidationError({"syncId": ["This query parameter is required."]})
        job = job_get_by_sync_id(sync_id=sync_id)
        return ok(sync_record(job))

    @extend_schema(
        operation_id="products_delete",
        summary="Delete a product from the shop (the local record is kept, marked deleted)",
        parameters=[OpenApiParameter("reference", str, OpenApiParameter.QUERY, required=True)],
        request=None,
        responses={
            200: _envelope(
                "ProductDeleteResponse",
                inline_serializer(
                    "ProductDeleteResult",
                    {
                        "reference": serializers.CharField(),
                        "presta_id": serializers.IntegerField(allow_null=True),
                        "syncId": serializers.CharField(),
                        "status": serializers.CharField(),
                    },
                ),
            ),
            400: ERROR,
            401: ERROR,
            404: ERROR,
            502: ERROR,
        },
    )
    def delete(self, request):
        reference = request.query_params.get("reference", "")
        if not reference.strip():
            raise ValidationError({"reference": ["This query parameter is required."]})
        job = product_delete(reference=reference, user=request.user)
        data = {"reference": job.reference, "presta_id": job.presta_id, "syncId": job.sync_id, "status": job.status}
        return ok(data, message="Product deleted successfully")


class ProductSyncBatchApi(APIView):
    @extend_schema(
        operation_id="products_sync_batch",
        summary="Synchronize up to SYNC_BATCH_MAX products; one item's failure never fails the batch",
        request=inline_serializer("ProductSyncBatchInput", {"products": ProductInput(many=True)}),
        parameters=[FORCE],
        responses={
            200: _envelope(
                "ProductSyncBatchResponse",
                inline_serializer(
                    "ProductSyncBatchResult",
                    {
                        "total": serializers.IntegerField(),
                        "successful": serializers.IntegerField(),
                        "failed": serializers.IntegerField(),
                        "results": serializers.ListField(child=serializers.DictField()),
                    },
                ),
            ),
            400: ERROR,
            401: ERROR,
            413: ERROR,
            415: ERROR,
            429: ERROR,
        },
        examples=[
            OpenApiExample(
                "Two products",
                value={
                    "products": [
                        {
                            "operation": "create",
                            "reference": "PROD001",
                            "name": "Coffee Machine",
                            "price": 1299.99,
                            "quantity": 50,
                        },
                        {
                            "operation": "create",
                            "reference": "PROD002",
                            "name": "Coffee Grinder",
                            "price": 199.99,
                            "quantity": 100,
                        },
                    ]
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        body = request.data
        if not isinstance(body, dict) or "products" not in body:
            raise ValidationError({"products": ["This field is required: a list of product objects."]})
        data = products_sync_batch(products=body["products"], user=request.user, force=_flag(request, "force"))
        return ok(data, message="Batch synchronization completed")


def sync_record(job: SyncJob) -> dict:
    return {
        "syncId": job.sync_id,
        "reference": job.reference,
        "status": job.status,
        "operation": job.operation,
        "source": job.source,
        "startedAt": iso_ms(job.started_at),
        "completedAt": iso_ms(job.completed_at),
        "duration": job.duration_ms,
        "productId": job.product_id,
        "presta_id": job.presta_id,
        "error": job.error or None,
        "warnings": list(job.warnings or []),
        "attempts": job.attempts,
        "imagesProcessed": job.images_processed,
        "technicalDataProcessed": job.technical_data_processed,
        "createdAt": iso_ms(job.created_at),
        "nextRetryAt": iso_ms(job.next_retry_at),
    }
