"""celltypes settings: one module, everything from the environment, no secrets in the repo."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="celltypes-dev-only-not-secret")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

# Where well-known files (SWC, NWB, JSON, previews) live, by WellKnownFile id.
CELLTYPES_DATA_DIR = Path(env("CELLTYPES_DATA_DIR", default=str(VAR_DIR / "data")))
# The upstream Allen API (or another celltypes instance) that sync reads from.
CELLTYPES_UPSTREAM = env("CELLTYPES_UPSTREAM", default="http://api.brain-map.org")
CELLTYPES_UPSTREAM_TIMEOUT = env.float("CELLTYPES_UPSTREAM_TIMEOUT", default=30.0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "celltypes.atlas",
    "celltypes.rma",
    "celltypes.sync",
    "celltypes.web",
    "celltypes.api",
]

MIDDLEWARE = [
    "celltypes.middleware.CollapseLeadingSlashesMiddleware",
    "celltypes.api.cors.ReadOnlyCorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "celltypes.urls"
WSGI_APPLICATION = "celltypes.wsgi.application"

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
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
# Keep connections across requests (a new SQLite connection costs 1.5-4 ms and loses its page cache); checked
# before reuse, so a database restart costs one reconnect, not an error.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 30)
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Limits of one Allen RMA answer (celltypes/rma/limits.py); past one, a 400 envelope says what to narrow.
RMA_QUERY_TIMEOUT_SECONDS = env.float("RMA_QUERY_TIMEOUT_SECONDS", default=10.0)
RMA_MAX_INCLUDED_ROWS = env.int("RMA_MAX_INCLUDED_ROWS", default=50_000)
RMA_MAX_RESPONSE_BYTES = env.int("RMA_MAX_RESPONSE_BYTES", default=64 * 1024 * 1024)

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A page that queues work must not wait on a broker that is down: fail fast (one try, a 1 s connect timeout)
# and let the caller fall back (render in the request, or show what it has).
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 5.0}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True

# The REST API (/api/v1/, celltypes/api): read-only and anonymous; each view names its renderers, pagination,
# filters and throttle. The public rate per client address ("" = unthrottled).
CELLTYPES_API_ANON_RATE = env("CELLTYPES_API_ANON_RATE", default="600/minute")
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": ["celltypes.api.throttling.PublicRateThrottle"],
    # JSON and CSV only: no browsable HTML API (its inline scripts would break the CSP; /api/v1/docs/ is the page).
    "DEFAULT_RENDERER_CLASSES": ["celltypes.api.renderers.FastJSONRenderer", "celltypes.api.renderers.CSVRenderer"],
    "DEFAULT_PAGINATION_CLASS": "celltypes.api.pagination.KeysetPagination",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "celltypes REST API",
    "DESCRIPTION": "Allen Cell Types data for lab tools: read-only, JSON or CSV, keyset-paged. "
    "The Allen-compatible RMA API (for the AllenSDK) lives at /api/v2/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_NO_READ_ONLY_REQUIRED": True,  # `?fields=` may leave any field out
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "celltypes.api.schema.add_errors_and_format",
    ],
    # The docs page's assets are served from here (drf-spectacular-sidecar): the CSP forbids external scripts.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
