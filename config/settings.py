"""Settings, all from the environment (docs/operations.md). Defaults suit `make run` on a bare machine.

Production: set DJANGO_DEBUG=0, DJANGO_SECRET_KEY, DATABASE_URL (PostgreSQL), CELERY_BROKER_URL
(Redis or RabbitMQ) and the shop credentials. Every variable is listed in the README. With DJANGO_DEBUG=0 a
missing secret key, shop URL/key or (while PRODUCTSUP_ENABLED) Productsup credential stops the start with
one line naming it.

Importing this module writes nothing: `make run` writes its generated dev secrets to `{DATA_DIR}/dev.env`
(config/devserver.py), and this module reads that file when present, so every `manage.py` command run
beside `make run` gets the same environment.
"""

from __future__ import annotations

import os
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.logs import logging_config
from config.sentry import sentry_init

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# Local data dir for `make run`: SQLite file, embedded broker, the dev environment file.
DATA_DIR = Path(env.str("PRODUCTS_SYNC_DATA_DIR", default=str(BASE_DIR / "var")))

# Written by `make run` (DJANGO_DEBUG=1, generated secrets). The process environment wins over it, and an
# explicit DJANGO_DEBUG=0 ignores it.
DEV_ENV_FILE = DATA_DIR / "dev.env"
if DEV_ENV_FILE.is_file() and env.bool("DJANGO_DEBUG", default=True):
    environ.Env.read_env(DEV_ENV_FILE)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Outside DEBUG there is no default: see the check at the end of this module.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (
    "django-insecure-development-only-never-in-production" if DEBUG else ""
)

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "config.apps.SchedulesConfig",  # django_celery_beat, named "Schedules" in the admin
    "django_object_actions",
    "config",
    "catalog",
    "syncjobs",
    "webhooks",
    "exports",
    "alerts",
]

# Admin object buttons are POST forms with a CSRF token (config/admin/actions.py).
DJANGO_OBJECT_ACTIONS_DEFAULT_HTTP_METHOD = "POST"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.metrics.WebhookMetricsMiddleware",  # outside RequestIdMiddleware: it sees the 413s too
    "config.api.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several local processes (web, worker, beat) share the file: wait for locks instead of failing.
    # WAL lets the web server read while the worker writes; synchronous=NORMAL is safe with WAL.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Without `collectstatic` (tests, `make run`) whitenoise serves from the apps' static dirs.
# Hashed files need `collectstatic` first; without its manifest the app still serves the apps' own files.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG and (STATIC_ROOT / "staticfiles.json").exists())
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
if not STATIC_ROOT.exists():
    # Before `collectstatic` whitenoise warns on every start that the directory is missing; files are
    # served from the apps (finders) then, so the warning says nothing useful.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files after `collectstatic` in production; plain files in development/tests.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Request bodies: every endpoint, the webhook included, accepts up to API_MAX_BODY_MB MiB (docs/api.md).
API_MAX_BODY_MB = env.int("API_MAX_BODY_MB", default=150)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_MB * 1024 * 1024

# Security: plain HTTP behind a proxy works; DJANGO_SECURE=1 turns on HTTPS redirects and secure cookies.
SECURE = env.bool("DJANGO_SECURE", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = SECURE
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- API -------------------------------------------------------------------------------------
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="1200/min")
WEBHOOK_THROTTLE_RATE = env.str("WEBHOOK_THROTTLE_RATE", default="1200/min")
SYNC_BATCH_MAX = env.int("SYNC_BATCH_MAX", default=100)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.StrictJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["config.api.throttling.UserOrIpThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": API_THROTTLE_RATE, "webhook": WEBHOOK_THROTTLE_RATE},
    "EXCEPTION_HANDLER": "config.api.exception_handlers.envelope_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Products Sync API",
    "DESCRIPTION": "Keeps a PrestaShop shop and a Productsup site in step with the GeSmart ERP.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None},  # no badge from validator.swagger.io: the docs stay offline
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    "ENUM_NAME_OVERRIDES": {
        "SyncOperationEnum": ["create", "update", "delete"],
        "ProductOperationEnum": ["create", "update"],
        "SyncStatusEnum": ["pending", "processing", "completed", "failed", "partial"],
    },
}

# Cache: throttle counters and admin thumbnails. Local memory is per process; use Redis in production.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://products-sync")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "config.cache.RedisCache"  # one Redis client per pool, not per call

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{DATA_DIR / 'celery-broker.sqlite3'}")
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "django-cache"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Queues: `sync` (one product's job: webhook, API retries), `bulk` (full resyncs, chunked), `exports`
# (Productsup batches). A plain `celery -A config worker` consumes all three; dedicated workers per
# queue (`-Q sync`) are an option so slow full resyncs never starve webhook jobs.
CELERY_TASK_DEFAULT_QUEUE = "sync"
CELERY_TASK_QUEUES: dict[str, dict[str, str]] = {"sync": {}, "bulk": {}, "exports": {}}
CELERY_TASK_ROUTES = {
    "syncjobs.tasks.full_resync*": {"queue": "bulk"},
    "syncjobs.tasks.resync_chunk*": {"queue": "bulk"},
    "exports.tasks.*": {"queue": "exports"},
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- PrestaShop ------------------------------------------------------------------------------
SANDBOX_PRESTASHOP_PORT = env.int("SANDBOX_PRESTASHOP_PORT", default=8081)
SANDBOX_PRESTASHOP_KEY = "SANDBOXKEYSANDBOXKEYSANDBOXKEY32"
# The sandbox shop's upload limit: a real PrestaShop 8.2 on default PHP refuses images over 2,000 KB (code 72).
SANDBOX_PRESTASHOP_IMAGE_MAX_BYTES = env.int("SANDBOX_PRESTASHOP_IMAGE_MAX_BYTES", default=2_000_000)
# The sandbox shop is the default only under DEBUG: in production a forgotten URL or key stops the start.
PRESTASHOP_URL = env.str(
    "PRESTASHOP_URL", default=f"http://127.0.0.1:{SANDBOX_PRESTASHOP_PORT}" if DEBUG else ""
).rstrip("/")
PRESTASHOP_API_KEY = env.str("PRESTASHOP_API_KEY", default=SANDBOX_PRESTASHOP_KEY if DEBUG else "")
PRESTASHOP_PUBLIC_URL = env.str("PRESTASHOP_PUBLIC_URL", default=PRESTASHOP_URL).rstrip("/")
PRESTASHOP_DEFAULT_CATEGORY_ID = env.int("PRESTASHOP_DEFAULT_CATEGORY_ID", default=2)
PRESTASHOP_TIMEOUT = env.float("PRESTASHOP_TIMEOUT", default=30.0)
PRESTASHOP_CONNECT_TIMEOUT = env.float("PRESTASHOP_CONNECT_TIMEOUT", default=5.0)
# How many products the service writes to the shop at once (PrestaShop deadlocks under many parallel writes).
PRESTASHOP_WRITE_CONCURRENCY = env.int("PRESTASHOP_WRITE_CONCURRENCY", default=8)
# Images above either limit are downscaled / re-encoded before upload. 2,000,000 bytes is what a shop on a
# default PHP accepts ("maximum allowed is 2000 KB"); a shop that states a lower maximum (code 72) is
# remembered and fitted automatically.
PRESTASHOP_IMAGE_MAX_BYTES = env.int("PRESTASHOP_IMAGE_MAX_BYTES", default=2_000_000)
PRESTASHOP_IMAGE_MAX_PIXELS = env.int("PRESTASHOP_IMAGE_MAX_PIXELS", default=1200)
PRESTASHOP_CATEGORY_CACHE_SECONDS = env.int("PRESTASHOP_CATEGORY_CACHE_SECONDS", default=300)
# The webhook checks categories against the cached list only (never the shop): beat and a missed id refresh it
# at most every PRESTASHOP_CATEGORY_REFRESH_SECONDS; a failed refresh is not retried for ..._FAILURE_SECONDS.
PRESTASHOP_CATEGORY_REFRESH_SECONDS = env.int("PRESTASHOP_CATEGORY_REFRESH_SECONDS", default=60)
PRESTASHOP_CATEGORY_FAILURE_SECONDS = env.int("PRESTASHOP_CATEGORY_FAILURE_SECONDS", default=30)

# --- Productsup ------------------------------------------------------------------------------
SANDBOX_PRODUCTSUP_PORT = env.int("SANDBOX_PRODUCTSUP_PORT", default=8082)
PRODUCTSUP_ENABLED = env.bool("PRODUCTSUP_ENABLED", default=True)
PRODUCTSUP_TRANSPORT = env.str("PRODUCTSUP_TRANSPORT", default="platform")
PRODUCTSUP_API_URL = env.str("PRODUCTSUP_API_URL", default=f"http://127.0.0.1:{SANDBOX_PRODUCTSUP_PORT}").rstrip(
    "/"
)  # the host; the client adds /platform/v2 and /product/v2 (a URL ending in /platform/v2 works too)
# Credentials default to the sandbox's only under DEBUG.
PRODUCTSUP_CLIENT_ID = env.str("PRODUCTSUP_CLIENT_ID", default="1234" if DEBUG else "")
PRODUCTSUP_CLIENT_SECRET = env.str("PRODUCTSUP_CLIENT_SECRET", default="sandbox-secret" if DEBUG else "")
PRODUCTSUP_SITE = env.str("PRODUCTSUP_SITE", default="123" if DEBUG else "")
PRODUCTSUP_STREAM_API_URL = env.str(
    "PRODUCTSUP_STREAM_API_URL", default=f"http://127.0.0.1:{SANDBOX_PRODUCTSUP_PORT}/stream"
).rstrip("/")
PRODUCTSUP_STREAM_ID = env.str("PRODUCTSUP_STREAM_ID", default="1000" if DEBUG else "")
PRODUCTSUP_STREAM_TOKEN = env.str("PRODUCTSUP_STREAM_TOKEN", default="sandbox-stream-token" if DEBUG else "")
PRODUCTSUP_FLUSH_SECONDS = env.int("PRODUCTSUP_FLUSH_SECONDS", default=60)
PRODUCTSUP_SOFT_DELETE = env.bool("PRODUCTSUP_SOFT_DELETE", default=False)
PRODUCTSUP_TIMEOUT = env.float("PRODUCTSUP_TIMEOUT", default=60.0)
# --- Productsup exports (exports app) ---
# Flush the delta at once (not after PRODUCTSUP_FLUSH_SECONDS) when this many changed products wait.
PRODUCTSUP_FLUSH_MAX_ROWS = env.int("PRODUCTSUP_FLUSH_MAX_ROWS", default=5000)
# Default schedule of the nightly full export (created once; staff edit it in the admin's periodic tasks).
PRODUCTSUP_FULL_EXPORT_CRON = env.str("PRODUCTSUP_FULL_EXPORT_CRON", default="30 2 * * *")
# Rows per upload request (Productsup's limit, 10,000, is also the maximum).
PRODUCTSUP_UPLOAD_ROWS = env.int("PRODUCTSUP_UPLOAD_ROWS", default=10000)
# How long one call may wait out 423 (batch locked) / 429 (rate limited) answers before giving up.
PRODUCTSUP_MAX_WAIT_SECONDS = env.float("PRODUCTSUP_MAX_WAIT_SECONDS", default=120.0)
# Whole-batch attempts in one run: a batch that fails midway is discarded and sent again as a whole.
PRODUCTSUP_BATCH_ATTEMPTS = env.int("PRODUCTSUP_BATCH_ATTEMPTS", default=3)
# Time limit of the full export task (seconds); the delta flush gets PRODUCTSUP_FLUSH_TIME_LIMIT.
PRODUCTSUP_FULL_EXPORT_TIME_LIMIT = env.int("PRODUCTSUP_FULL_EXPORT_TIME_LIMIT", default=3600)
PRODUCTSUP_FLUSH_TIME_LIMIT = env.int("PRODUCTSUP_FLUSH_TIME_LIMIT", default=900)
# --- end Productsup exports ---

# --- Webhook ---------------------------------------------------------------------------------
# One secret, or two comma-separated ones while rotating. Unset: every delivery is refused.
# `make run` generates a dev secret into DEV_ENV_FILE and prints it.
GESMART_WEBHOOK_SECRET = env.str("GESMART_WEBHOOK_SECRET", default="")

# --- Sync pipeline ---------------------------------------------------------------------------
SYNC_MAX_ATTEMPTS = env.int("SYNC_MAX_ATTEMPTS", default=8)
SYNC_RETRY_BASE_SECONDS = env.float("SYNC_RETRY_BASE_SECONDS", default=10.0)
SYNC_RETRY_MAX_SECONDS = env.float("SYNC_RETRY_MAX_SECONDS", default=3600.0)
# A job (or an accepted webhook delivery) whose worker died or whose broker message was lost runs again within
# this many seconds of a worker being available (every worker's recovery sweeper: syncjobs/services/recovery.py).
SYNC_RECOVERY_SECONDS = env.int("SYNC_RECOVERY_SECONDS", default=120)
# POST /api/products/sync answers within this many seconds of the call, all tries included (502 + syncId past it).
SYNC_REQUEST_DEADLINE_SECONDS = env.float("SYNC_REQUEST_DEADLINE_SECONDS", default=30.0)
SYNC_RETENTION_DAYS = env.int("SYNC_RETENTION_DAYS", default=30)
SYNC_FAILED_RETENTION_DAYS = env.int("SYNC_FAILED_RETENTION_DAYS", default=180)
FULL_RESYNC_CRON = env.str("FULL_RESYNC_CRON", default="0 3 * * *")

# Redis holds a delivered, unacknowledged message (a delayed retry waiting for its countdown, a running task)
# for the visibility timeout, then delivers it again. It must exceed the longest countdown we send (a job
# retry: at most SYNC_RETRY_MAX_SECONDS, Retry-After included; a Productsup full export retry: 3600 s), or
# delayed retries would run twice. A dead worker's messages are recovered by the sweeper, not by this.
# The SQLAlchemy transport of `make run` passes its options to create_engine, so it gets none.
_LONGEST_COUNTDOWN = max(SYNC_RETRY_MAX_SECONDS, 3600.0)
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=int(_LONGEST_COUNTDOWN) + 600)
if CELERY_VISIBILITY_TIMEOUT <= _LONGEST_COUNTDOWN:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT ({CELERY_VISIBILITY_TIMEOUT} s) must exceed the longest retry countdown "
        f"({_LONGEST_COUNTDOWN:.0f} s, SYNC_RETRY_MAX_SECONDS)"
    )
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
    if CELERY_BROKER_URL.startswith(("redis", "rediss", "sentinel"))
    else {}
)

# --- Logs (docs/operations.md) ----------------------------------------------------------------
# One JSON object per line in every process (web, worker, beat, commands), or plain text for `make run`.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json").lower()
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
LOGGING_CONFIG = "config.logs.configure"

# --- Metrics (docs/operations.md) ---------------------------------------------------------------
# Every process of the service on this machine writes its counters here and /metrics adds them up
# (prometheus_client's multiprocess mode). Named before any metric exists; one directory per machine.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(DATA_DIR / "metrics"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR  # config/metrics.py creates it (or a fallback)
# Bearer token for GET /metrics; unset: open.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Alerts (docs/operations.md, Alerts) ----------------------------------------------------------------------
# Evaluated every minute by beat; each incident is told once when it fires and once when it clears.
ALERT_EMAILS = env.list("ALERT_EMAILS", default=[])
ALERT_WEBHOOK_URL = env.str("ALERT_WEBHOOK_URL", default="")
ALERT_FAILURE_RATE = env.float("ALERT_FAILURE_RATE", default=0.2)  # share of finished jobs that failed
ALERT_WINDOW_MINUTES = env.int("ALERT_WINDOW_MINUTES", default=15)
ALERT_MIN_JOBS = env.int("ALERT_MIN_JOBS", default=10)  # fewer finished jobs in the window: no verdict
ALERT_PENDING_SECONDS = env.int("ALERT_PENDING_SECONDS", default=600)
ALERT_PRODUCTSUP_FAILURES = env.int("ALERT_PRODUCTSUP_FAILURES", default=2)  # failed batches in a row
ALERT_PRESTASHOP_PROBE = env.bool("ALERT_PRESTASHOP_PROBE", default=True)
ALERT_PROBE_TIMEOUT = env.float("ALERT_PROBE_TIMEOUT", default=10.0)
ALERT_EMAIL_FROM = env.str("ALERT_EMAIL_FROM", default="products-sync@localhost")
# Django's mail settings from one URL: smtp://user:pass@host:25, smtp+tls://…:587, consolemail://.
vars().update(env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"))
DEFAULT_FROM_EMAIL = ALERT_EMAIL_FROM
SERVER_EMAIL = ALERT_EMAIL_FROM
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Error reports (Sentry) ------------------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
sentry_init(
    dsn=SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    release=SENTRY_RELEASE,
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)


# --- Required in production ------------------------------------------------------------------
def _missing_in_production() -> list[str]:
    required = {
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "PRESTASHOP_URL": PRESTASHOP_URL,
        "PRESTASHOP_API_KEY": PRESTASHOP_API_KEY,
    }
    if PRODUCTSUP_ENABLED and PRODUCTSUP_TRANSPORT == "stream":
        required |= {"PRODUCTSUP_STREAM_ID": PRODUCTSUP_STREAM_ID, "PRODUCTSUP_STREAM_TOKEN": PRODUCTSUP_STREAM_TOKEN}
    elif PRODUCTSUP_ENABLED:
        required |= {
            "PRODUCTSUP_CLIENT_ID": PRODUCTSUP_CLIENT_ID,
            "PRODUCTSUP_CLIENT_SECRET": PRODUCTSUP_CLIENT_SECRET,
            "PRODUCTSUP_SITE": PRODUCTSUP_SITE,
        }
    return [name for name, value in required.items() if not value]


if not DEBUG and (_missing := _missing_in_production()):
    # SystemExit, not ImproperlyConfigured: one line on stderr and exit code 1, no traceback.
    raise SystemExit(
        f"Products Sync cannot start: set {', '.join(_missing)} (required with DJANGO_DEBUG=0; "
        "PRODUCTSUP_* only while PRODUCTSUP_ENABLED=1). See README, Settings; to develop, run `make run` once."
    )
