from django.urls import path

from .apis import GesmartWebhookApi

urlpatterns = [
    path("webhooks/gesmart/products", GesmartWebhookApi.as_view(), name="webhook-gesmart-products"),
]
