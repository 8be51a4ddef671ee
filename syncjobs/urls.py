from django.urls import path

from .apis import ProductSyncApi, ProductSyncBatchApi

urlpatterns = [
    path("products/sync", ProductSyncApi.as_view(), name="products-sync"),
    path("products/sync/batch", ProductSyncBatchApi.as_view(), name="products-sync-batch"),
]
