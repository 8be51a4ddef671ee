from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import health, metrics
from .api import auth_views
from .api.docs import redoc_standalone_js
from .api.views import api_not_found, postman_collection_download

handler400 = "config.api.views.bad_request"
handler403 = "config.api.views.permission_denied"
handler404 = "config.api.views.not_found"
handler500 = "config.api.views.server_error"

urlpatterns = [
    # "View site" and a bare visit: a small page linking the back-office, the API docs and the Postman collection.
    path("", TemplateView.as_view(template_name="landing.html"), name="landing"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/auth/login", auth_views.LoginApi.as_view(), name="auth-login"),
    path("api/auth/refresh", auth_views.RefreshApi.as_view(), name="auth-refresh"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/postman/", postman_collection_download, name="postman-collection"),
    path("api/redoc/redoc.standalone.js", redoc_standalone_js, name="redoc-standalone-js"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/", include("syncjobs.urls")),
    path("api/", include("webhooks.urls")),
    re_path(r"^api(?:/(?P<path>.*))?$", api_not_found, name="api-not-found"),  # the envelope, DEBUG or not
    path("admin/", admin.site.urls),
]
