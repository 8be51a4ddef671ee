"""The Products Sync API (docs/api.md, Endpoints). Views parse and answer; services do the work."""

from __future__ import annotations

from datetime import UTC, datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView

from catalog.validation import REFERENCE_MAX, ProductInput
from config.api.envelope import ok
from config.api.params import query_param
from config.api.schema import (
    BODY_ERRORS,
    QUERY_ERRORS,
    SYNC_OPERATIONS,
    SYNC_SOURCES,
    SYNC_STATUSES,
    ErrorDetailSerializer,
    envelope,
    error_responses,
)
from syncjobs.models import SyncJob, SyncStatus
from syncjobs.services.sync import job_get_by_sync_id, product_delete, product_sync, products_sync_batch

SYNC_ID_MAX = 40  # SyncJob.sync_id

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


class IsoMillisField(serializers.DateTimeField):
    """`2026-01-13T10:30:00.000Z`, as the API document writes times."""

    def to_representation(self, value):
        return iso_ms(value)


class ProductSyncResultSerializer(serializers.Serializer):
    """`data` of POST /api/products/sync (and of each successful batch item)."""

    productId = serializers.IntegerField(source="product_id", allow_null=True, help_text="Local product id.")
    reference = serializers.CharField()
    presta_id = serializers.IntegerField(allow_null=True, help_text="PrestaShop product id (null until known).")
    syncId = serializers.CharField(source="sync_id")
    operation = serializers.ChoiceField(choices=SYNC_OPERATIONS)
    status = serializers.ChoiceField(choices=SYNC_STATUSES)
    imagesProcessed = serializers.IntegerField(source="images_processed")
    technicalDataProcessed = serializers.IntegerField(source="technical_data_processed")
    warnings = serializers.ListField(child=serializers.CharField(), help_text="What was adapted for the shop.")

    class Meta:
        ref_name = "ProductSyncResult"


class SyncRecordSerializer(serializers.Serializer):
    """`data` of GET /api/products/sync?syncId=: one sync record."""

    syncId = serializers.CharField(source="sync_id")
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=SYNC_STATUSES)
    operation = serializers.ChoiceField(choices=SYNC_OPERATIONS)
    source = serializers.ChoiceField(choices=SYNC_SOURCES)
    startedAt = IsoMillisField(source="started_at", allow_null=True)
    completedAt = IsoMillisField(source="completed_at", allow_null=True)
    duration = serializers.IntegerField(source="duration_ms", allow_null=True, help_text="Milliseconds.")
    productId = serializers.IntegerField(source="product_id", allow_null=True)
    presta_id = serializers.IntegerField(allow_null=True)
    error = serializers.SerializerMethodField()
    warnings = serializers.ListField(child=serializers.CharField())
    attempts = serializers.IntegerField()
    imagesProcessed = serializers.IntegerField(source="images_processed")
    technicalDataProcessed = serializers.IntegerField(source="technical_data_processed")
    createdAt = IsoMillisField(source="created_at")
    nextRetryAt = IsoMillisField(
        source="next_retry_at", allow_null=True, help_text="When the next background try is due, if any."
    )

    class Meta:
        ref_name = "SyncRecord"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error(self, job: SyncJob) -> str | None:
        return job.error or None


class ProductDeleteResultSerializer(serializers.Serializer):
    reference = serializers.CharField()
    presta_id = serializers.IntegerField(allow_null=True)
    syncId = serializers.CharField(source="sync_id")
    status = serializers.ChoiceField(choices=SYNC_STATUSES)

    class Meta:
        ref_name = "ProductDeleteResult"


class BatchItemResultSerializer(serializers.Serializer):
    """One item of a batch: the sync result when it reached the shop, else `error` and `details`."""

    reference = serializers.CharField(allow_null=True, help_text="Null when the item had no usable reference.")
    success = serializers.BooleanField()
    syncId = serializers.CharField(required=False)
    productId = serializers.IntegerField(required=False, allow_null=True)
    presta_id = serializers.IntegerField(required=False, allow_null=True)
    operation = serializers.ChoiceField(choices=SYNC_OPERATIONS, required=False)
    status = serializers.ChoiceField(choices=SYNC_STATUSES, required=False)
    imagesProcessed = serializers.IntegerField(required=False)
    technicalDataProcessed = serializers.IntegerField(required=False)
    warnings = serializers.ListField(child=serializers.CharField(), required=False)
    error = serializers.CharField(required=False)
    details = ErrorDetailSerializer(many=True, required=False)
    code = serializers.IntegerField(
        required=False, help_text="The status code this item alone would have had (400, 404, 409, 422)."
    )

    class Meta:
        ref_name = "BatchItemResult"

    def to_representation(self, instance):
        item = dict(instance)
        if isinstance(item.get("status"), int):  # the service reports an item's own HTTP status as `status`
            item["code"] = item.pop("status")
        if not isinstance(item.get("reference"), str):
            item["reference"] = None
        return super().to_representation(item)


class ProductSyncBatchResultSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BatchItemResultSerializer(many=True)

    class Meta:
        ref_name = "ProductSyncBatchResult"


FORCE = OpenApiParameter(
    "force",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="Push every part to the shop even if nothing changed (restores manual edits).",
)


def iso_ms(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _flag(request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in TRUE


SYNC_RESPONSE_EXAMPLE = {
    "success": True,
    "message": "Product synchronized successfully",
    "data": {
        "productId": 123,
        "reference": "PROD001",
        "presta_id": 456,
        "syncId": "sync_abc123xyz",
        "operation": "create",
        "status": "completed",
        "imagesProcessed": 3,
        "technicalDataProcessed": 15,
        "warnings": [],
    },
}
RECORD_EXAMPLE = {
    "success": True,
    "data": {
        "syncId": "sync_abc123xyz",
        "reference": "PROD001",
        "status": "completed",
        "operation": "create",
        "source": "api",
        "startedAt": "2026-01-13T10:30:00.000Z",
        "completedAt": "2026-01-13T10:30:05.000Z",
        "duration": 5000,
        "productId": 123,
        "presta_id": 456,
        "error": None,
        "warnings": [],
        "attempts": 1,
        "imagesProcessed": 3,
        "technicalDataProcessed": 15,
        "createdAt": "2026-01-13T10:30:00.000Z",
        "nextRetryAt": None,
    },
}
DELETE_EXAMPLE = {
    "success": True,
    "message": "Product deleted successfully",
    "data": {"reference": "PROD001", "presta_id": 456, "syncId": "sync_def456uvw", "status": "completed"},
}
BATCH_EXAMPLE_REQUEST = {
    "products": [
        {"operation": "create", "reference": "PROD001", "name": "Coffee Machine", "price": 1299.99, "quantity": 50},
        {"operation": "create", "reference": "PROD002", "name": "Coffee Grinder", "price": 199.99, "quantity": 100},
    ]
}
BATCH_EXAMPLE_RESPONSE = {
    "success": True,
    "message": "Batch synchronization completed",
    "data": {
        "total": 2,
        "successful": 1,
        "failed": 1,
        "results": [
            {"reference": "PROD001", "success": True, "syncId": "sync_abc123xyz", "productId": 123, "presta_id": 456},
            {
                "reference": "PROD002",
                "success": False,
                "error": "Validation failed",
                "details": [{"field": "price", "message": "Ensure this value is greater than or equal to 0."}],
                "code": 400,
            },
        ],
    },
}

ProductSyncResponse = envelope("ProductSyncResponse", ProductSyncResultSerializer)
SyncRecordResponse = envelope("SyncRecordResponse", SyncRecordSerializer)
ProductDeleteResponse = envelope("ProductDeleteResponse", ProductDeleteResultSerializer)
ProductSyncBatchResponse = envelope("ProductSyncBatchResponse", ProductSyncBatchResultSerializer)


class ProductSyncBatchInput(serializers.Serializer):
    products = ProductInput(many=True, help_text="Up to SYNC_BATCH_MAX (default 100) product objects.")

    class Meta:
        ref_name = "ProductSyncBatchInput"


def _answer(serializer_class, data, *, message: str | None = None):
    return ok(serializer_class(data).data, message=message)


class ProductSyncApi(APIView):
    """`/api/products/sync`: POST syncs one product, GET reads a sync record, DELETE removes a product."""

    @extend_schema(
        operation_id="products_sync",
        summary="Synchronize one product now (create or update)",
        request=ProductInput,
        parameters=[FORCE],
        responses={
            200: OpenApiResponse(ProductSyncResponse, description="Stored and pushed to the shop."),
            **error_responses(400, 401, 404, 409, 413, 415, 422, 429, 500, 502),
        },
        examples=[
            OpenApiExample("Create a product", value=EXAMPLE_PRODUCT, request_only=True),
            OpenApiExample("Synchronized", value=SYNC_RESPONSE_EXAMPLE, response_only=True, status_codes=["200"]),
        ],
    )
    def post(self, request):
        job = product_sync(payload=request.data, user=request.user, force=_flag(request, "force"))
        message = (
            "Product synchronized successfully"
            if job.status == SyncStatus.COMPLETED
            else "Product synchronized, but part of it was refused by the shop"
        )
        return _answer(ProductSyncResultSerializer, job, message=message)

    @extend_schema(
        operation_id="products_sync_status",
        summary="Read one sync record",
        parameters=[
            OpenApiParameter(
                "syncId",
                {"type": "string", "minLength": 1, "maxLength": SYNC_ID_MAX},
                OpenApiParameter.QUERY,
                required=True,
                description="From a sync answer's `syncId`.",
            )
        ],
        responses={
            200: OpenApiResponse(SyncRecordResponse, description="The sync record."),
            **error_responses(*QUERY_ERRORS),
        },
        examples=[OpenApiExample("Completed", value=RECORD_EXAMPLE, response_only=True, status_codes=["200"])],
    )
    def get(self, request):
        sync_id = query_param(request, "syncId", max_length=SYNC_ID_MAX)
        job = job_get_by_sync_id(sync_id=sync_id)
        return _answer(SyncRecordSerializer, job)

    @extend_schema(
        operation_id="products_delete",
        summary="Delete a product from the shop (the local record is kept, marked deleted)",
        parameters=[
            OpenApiParameter(
                "reference",
                {"type": "string", "minLength": 1, "maxLength": REFERENCE_MAX},
                OpenApiParameter.QUERY,
                required=True,
            )
        ],
        request=None,
        responses={
            200: OpenApiResponse(ProductDeleteResponse, description="Deleted from the shop."),
            **error_responses(*QUERY_ERRORS, 502),
        },
        examples=[OpenApiExample("Deleted", value=DELETE_EXAMPLE, response_only=True, status_codes=["200"])],
    )
    def delete(self, request):
        reference = query_param(request, "reference", max_length=REFERENCE_MAX)
        job = product_delete(reference=reference, user=request.user)
        return _answer(ProductDeleteResultSerializer, job, message="Product deleted successfully")


class ProductSyncBatchApi(APIView):
    @extend_schema(
        operation_id="products_sync_batch",
        summary="Synchronize up to SYNC_BATCH_MAX products; one item's failure never fails the batch",
        request=ProductSyncBatchInput,
        parameters=[FORCE],
        responses={
            200: OpenApiResponse(ProductSyncBatchResponse, description="Per-item results."),
            **error_responses(*BODY_ERRORS),
        },
        examples=[
            OpenApiExample("Two products", value=BATCH_EXAMPLE_REQUEST, request_only=True),
            OpenApiExample("Results", value=BATCH_EXAMPLE_RESPONSE, response_only=True, status_codes=["200"]),
        ],
    )
    def post(self, request):
        body = request.data
        if not isinstance(body, dict) or "products" not in body:
            raise ValidationError({"products": ["This field is required: a list of product objects."]})
        data = products_sync_batch(products=body["products"], user=request.user, force=_flag(request, "force"))
        return _answer(ProductSyncBatchResultSerializer, data, message="Batch synchronization completed")
