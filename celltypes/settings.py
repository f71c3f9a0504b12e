"""celltypes settings: one module, everything from the environment, no secrets in the repo."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Development (the default: `make run`, the tests) or production (CELLTYPES_ENV=production, what the Dockerfile
# sets): production refuses to start on the public development key, without named hosts, or with DEBUG on, and
# turns on HTTPS-only cookies, HSTS and the redirect to HTTPS (see the security block at the end).
CELLTYPES_ENV = env("CELLTYPES_ENV", default="development")
if CELLTYPES_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"CELLTYPES_ENV must be 'development' or 'production', not {CELLTYPES_ENV!r}")
PRODUCTION = CELLTYPES_ENV == "production"
DEVELOPMENT_SECRET_KEY = "celltypes-dev-only-not-secret"

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="" if PRODUCTION else DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION:
    _refusals = [
        "DJANGO_DEBUG is on" if DEBUG else "",
        "DJANGO_SECRET_KEY is not set to a random value of 50 characters or more (python -c 'import secrets; "
        "print(secrets.token_urlsafe(50))')"
        if len(SECRET_KEY) < 50 or SECRET_KEY == DEVELOPMENT_SECRET_KEY
        else "",
        "DJANGO_ALLOWED_HOSTS does not name the host names this site answers to" if not ALLOWED_HOSTS else "",
        "DJANGO_ALLOWED_HOSTS has the wildcard '*': name the hosts" if "*" in ALLOWED_HOSTS else "",
    ]
    if any(_refusals):
        raise ImproperlyConfigured(
            "celltypes will not start in production (CELLTYPES_ENV=production): "
            + "; ".join(refusal for refusal in _refusals if refusal)
        )

# Where well-known files (SWC, NWB, JSON, previews) live, by WellKnownFile id.
CELLTYPES_DATA_DIR = Path(env("CELLTYPES_DATA_DIR", default=str(VAR_DIR / "data")))
# The upstream Allen API (or another celltypes instance) that sync reads from.
CELLTYPES_UPSTREAM = env("CELLTYPES_UPSTREAM", default="http://api.brain-map.org")
CELLTYPES_UPSTREAM_TIMEOUT = env.float("CELLTYPES_UPSTREAM_TIMEOUT", default=30.0)

# Fetch-through limits. A download asked for by a request must finish within CELLTYPES_FETCH_DEADLINE seconds
# (else it is handed to the worker, which has CELLTYPES_FETCH_TASK_DEADLINE), and a request waits at most
# CELLTYPES_FETCH_LOCK_WAIT seconds for another fetch of the same file before answering "try again" (503).
CELLTYPES_FETCH_DEADLINE = env.float("CELLTYPES_FETCH_DEADLINE", default=20.0)
CELLTYPES_FETCH_LOCK_WAIT = env.float("CELLTYPES_FETCH_LOCK_WAIT", default=5.0)
CELLTYPES_FETCH_TASK_DEADLINE = env.float("CELLTYPES_FETCH_TASK_DEADLINE", default=600.0)
# Allen's images fetched through (celltypes/sync/image_fetch.py): the largest image taken, and how many parameter
# sets (downsample, region...) of one image are kept.
CELLTYPES_IMAGE_MAX_BYTES = env.int("CELLTYPES_IMAGE_MAX_BYTES", default=64 * 1024 * 1024)
CELLTYPES_IMAGE_VARIANTS_MAX = env.int("CELLTYPES_IMAGE_VARIANTS_MAX", default=16)
# Full mirror sync (`manage.py sync_upstream --all`, task sync.mirror_sync; celltypes/sync/mirror.py): rows per RMA
# page, requests in flight, retries of a timeout/dropped connection/5xx (back-off doubling from BACKOFF to at most
# BACKOFF_MAX seconds), the deadline of one whole page, and hard caps per page, per table and per run.
CELLTYPES_MIRROR_PAGE_SIZE = env.int("CELLTYPES_MIRROR_PAGE_SIZE", default=2000)
CELLTYPES_MIRROR_CONCURRENCY = env.int("CELLTYPES_MIRROR_CONCURRENCY", default=2)
CELLTYPES_MIRROR_RETRIES = env.int("CELLTYPES_MIRROR_RETRIES", default=4)
CELLTYPES_MIRROR_BACKOFF = env.float("CELLTYPES_MIRROR_BACKOFF", default=2.0)
CELLTYPES_MIRROR_BACKOFF_MAX = env.float("CELLTYPES_MIRROR_BACKOFF_MAX", default=30.0)
CELLTYPES_MIRROR_PAGE_DEADLINE = env.float("CELLTYPES_MIRROR_PAGE_DEADLINE", default=120.0)
CELLTYPES_MIRROR_MAX_PAGE_BYTES = env.int("CELLTYPES_MIRROR_MAX_PAGE_BYTES", default=64 * 1024 * 1024)
CELLTYPES_MIRROR_MAX_ROWS_PER_TABLE = env.int("CELLTYPES_MIRROR_MAX_ROWS_PER_TABLE", default=5_000_000)
CELLTYPES_MIRROR_MAX_PAGES = env.int("CELLTYPES_MIRROR_MAX_PAGES", default=20_000)
# An unfinished run is continued by the next one unless it started longer ago than this (then it starts afresh).
CELLTYPES_MIRROR_RESUME_HOURS = env.float("CELLTYPES_MIRROR_RESUME_HOURS", default=24.0)
# Tests only: a file path; the apply creates it once every row table is written (inside its open transaction) and
# then holds there (at most 60 s) so that a test can kill the process at that point. Empty: never holds.
CELLTYPES_MIRROR_APPLY_HOLD = env.str("CELLTYPES_MIRROR_APPLY_HOLD", default="")
# Celery beat queues a full sync every CELLTYPES_MIRROR_INTERVAL seconds (0: never; never without an upstream). One
# task run works for at most CELLTYPES_MIRROR_TASK_TIME_LIMIT seconds, then queues its own continuation.
CELLTYPES_MIRROR_INTERVAL = env.float("CELLTYPES_MIRROR_INTERVAL", default=24 * 3600.0)
CELLTYPES_MIRROR_TASK_TIME_LIMIT = env.int("CELLTYPES_MIRROR_TASK_TIME_LIMIT", default=900)
# A request may render a morphology preview itself only from an SWC of at most this many bytes (about 20,000
# nodes, 0.3 s); a larger one is rendered by the worker while the request answers "pending".
CELLTYPES_PREVIEW_INLINE_MAX_BYTES = env.int("CELLTYPES_PREVIEW_INLINE_MAX_BYTES", default=2_000_000)
# A GLIF run of at most this many steps runs in the request (20 s at Allen's 50 kHz, well under a second); a
# longer one goes to the worker, whose result is cached by (model, stimulus, dt).
CELLTYPES_GLIF_INLINE_MAX_STEPS = env.int("CELLTYPES_GLIF_INLINE_MAX_STEPS", default=400_000)

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
    "celltypes.middleware.RefuseNulBytesMiddleware",
    "celltypes.api.cors.ReadOnlyCorsMiddleware",
    "celltypes.api.response_cache.ApiResponseCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "celltypes.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "celltypes.middleware.AdminLoginThrottleMiddleware",
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

# No task is lost. A task whose process dies (killed, out of memory) goes back to the queue instead of being
# acknowledged; a worker killed whole leaves its messages unacknowledged, and Redis hands them out again after the
# visibility timeout: longer than the longest task (the file fetch: its deadline plus margins, plus its back-off),
# far shorter than Redis's default hour. Every task also declares its own time limits (a test checks both).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=int(CELLTYPES_FETCH_TASK_DEADLINE) + 600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Sending a task when the broker is down fails at once (one retry, no pause) instead of after seconds.
    "max_retries": 1,
    "interval_start": 0,
}
CELERY_TASK_SOFT_TIME_LIMIT = 300  # for a task that does not declare its own
CELERY_TASK_TIME_LIMIT = 360
# A request that queues a task must not wait long for a broker that is down.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BEAT_SCHEDULE = (
    {"mirror-sync": {"task": "sync.mirror_sync", "schedule": CELLTYPES_MIRROR_INTERVAL}}
    if CELLTYPES_UPSTREAM.strip() and CELLTYPES_MIRROR_INTERVAL > 0
    else {}
)
# /health checks the broker and a worker round-trip at most once per this many seconds per process.
CELLTYPES_HEALTH_CACHE_SECONDS = env.float("CELLTYPES_HEALTH_CACHE_SECONDS", default=15.0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Production (Dockerfile, scripts/run.sh, the test servers of tests/support/demo_server.py) runs `collectstatic` and
# sets DJANGO_STATIC_MANIFEST: static files are then served gzip-compressed under content-hashed names that browsers
# may keep for a year (WhiteNoise marks hashed files immutable). Without it (development, the Django test client)
# files are served as they are from static/, so no collectstatic is needed.
STATIC_MANIFEST = env.bool("DJANGO_STATIC_MANIFEST", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
WHITENOISE_MAX_AGE = 365 * 24 * 3600 if STATIC_MANIFEST else 60

# The REST API (/api/v1/, celltypes/api): read-only and anonymous; each view names its renderers, pagination,
# filters and throttle. The public rate per client address ("" = unthrottled).
CELLTYPES_API_ANON_RATE = env("CELLTYPES_API_ANON_RATE", default="600/minute")
# Whole answers of /api/v1/ kept per process, keyed on the atlas version (celltypes/api/response_cache.py).
CELLTYPES_API_RESPONSE_CACHE = env.bool("CELLTYPES_API_RESPONSE_CACHE", default=True)
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

# Security. A Content-Security-Policy on every response (celltypes.middleware): scripts and styles from this site
# only (htmx, plotly and the page scripts are files under static/), plus the one inline handler of the search
# card's thumbnail (by hash); inline style attributes are allowed (plotly and the templates set them). A view may
# set its own policy instead.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-hashes' 'sha256-9f8ZK5epjuMsYtXFjPqrgJI0L4QOAUYmJdHtT+RSH/c='",  # this.remove()
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Plotly's WebGL traces (the search page's parallel coordinates) compile their shaders' glue with `new Function`
# (regl), so the one page that draws them allows 'unsafe-eval' in scripts; every other page keeps the policy above.
CONTENT_SECURITY_POLICY_WEBGL = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'")
# At most this many failed admin logins per client address within the window (seconds); then 429 until it passes.
# Counted in the default cache (CACHE_URL; per process unless it points at Redis).
CELLTYPES_ADMIN_LOGIN_FAILURES = env.int("CELLTYPES_ADMIN_LOGIN_FAILURES", default=5)
CELLTYPES_ADMIN_LOGIN_WINDOW = env.int("CELLTYPES_ADMIN_LOGIN_WINDOW", default=900)
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

if PRODUCTION:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and drops a client's own), say so, or every
    # request looks like plain HTTP and is redirected forever.
    if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health$"]  # a container's own health probe speaks plain HTTP
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
