"""Django settings for Cothon.

Everything comes from the environment (see docs/configuration.md). The defaults are the
embedded stack that `make run` uses: SQLite, kombu's filesystem broker, no Redis. Setting
DATABASE_URL / REDIS_URL switches to the production stack (PostgreSQL + Redis).
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from cothon.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("COTHON_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("COTHON_REQUIRE_SECRET_KEY", False):
        raise RuntimeError("DJANGO_SECRET_KEY must be set in production")
    # Development/demo only: a stable key kept in var/ so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
COTHON_BASE_URL = env_str("COTHON_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

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
    "django_htmx",
    "django_celery_beat",
    "cothon",
    "opportunities",
    "proposals",
    "integrations",
    "sync_engine",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "cothon.tenancy.middleware.TenantMiddleware",
]

ROOT_URLCONF = "cothon.urls"
WSGI_APPLICATION = "cothon.wsgi.application"

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
                "cothon.tenancy.context_processors.tenancy",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    # Several processes (web, workers, beat) share this file: WAL + IMMEDIATE transactions
    # avoid "database is locked" on upgrade from a read to a write lock.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "cothon.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

if env_str("COTHON_TEST_DB_NAME"):
    # Lets several test runs share one server without colliding; on SQLite it is a file (not
    # in memory), so worker subprocesses in the tests can open the same test database.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str("COTHON_TEST_DB_NAME")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "opportunities:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-ca"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "cothon" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("COTHON_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# Requests larger than this are refused before they reach a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("COTHON_MAX_REQUEST_BYTES", 2 * 1024 * 1024)
# Django's database sessions, refusing a malformed session cookie (cothon/sessions.py).
SESSION_ENGINE = "cothon.sessions"

REDIS_URL = env_str("REDIS_URL", "")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
else:
    # kombu's filesystem transport: a broker with no server. One shared folder for in and out,
    # so every process (web, workers, beat) sees the same queues.
    (BROKER_DIR / "queue").mkdir(parents=True, exist_ok=True)
    (BROKER_DIR / "processed").mkdir(parents=True, exist_ok=True)
    (BROKER_DIR / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Exchange tables; kombu's default is ./control relative to whatever the cwd is.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cothon.tenancy.api_auth.MembershipTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cothon.tenancy.permissions.IsTenantMember"],
    "DEFAULT_PAGINATION_CLASS": "cothon.api.pagination.StandardPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "cothon.api.schema.CothonAutoSchema",
    "EXCEPTION_HANDLER": "cothon.api.exceptions.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": ["cothon.api.parsers.JSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cothon API",
    "DESCRIPTION": "Opportunities, bid analyses, proposals, quotes and departments of one tenant. "
    "Authenticate with `Authorization: Token <key>` (`python manage.py api_token <username>`).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OpportunityStatusEnum": "opportunities.models.OpportunityStatus",
        "BidAnalysisStatusEnum": "opportunities.models.BidAnalysisStatus",
        "ProposalStatusEnum": "proposals.models.ProposalStatus",
        "QuoteStatusEnum": "proposals.models.QuoteStatus",
    },
}

# --- Salesforce -----------------------------------------------------------------------------
SALESFORCE_API_VERSION = env_str("SALESFORCE_API_VERSION", "59.0")
SALESFORCE_HTTP_TIMEOUT = float(env_str("SALESFORCE_HTTP_TIMEOUT", "30"))
# Comma-separated Fernet keys, newest first (python manage.py rotate_token_keys re-encrypts).
COTHON_ENCRYPTION_KEYS = env_list("COTHON_ENCRYPTION_KEYS", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG and env_bool("COTHON_SECURE_COOKIES", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Outbox claims expire after this long, so a killed worker's rows come back (sweeper).
COTHON_OUTBOX_LEASE_SECONDS = env_int("COTHON_OUTBOX_LEASE_SECONDS", 300)

CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "sync_engine.sweep_outbox", "schedule": 30.0},
    "deadline-reminders": {"task": "sync_engine.deadline_reminders", "schedule": 3600.0},
    "scheduled-syncs": {"task": "sync_engine.scheduled_syncs", "schedule": 60.0},
}

# The product-wide connected app used when a connection has no client id of its own.
SALESFORCE_CLIENT_ID = env_str("SALESFORCE_CLIENT_ID", "")
SALESFORCE_CLIENT_SECRET = env_str("SALESFORCE_CLIENT_SECRET", "")
# Refresh an access token this long before its assumed expiry (Salesforce's session timeout is
# an org setting that the token response does not carry; 2 hours is the default).
SALESFORCE_SESSION_SECONDS = env_int("SALESFORCE_SESSION_SECONDS", 7200)
SALESFORCE_REFRESH_MARGIN_SECONDS = env_int("SALESFORCE_REFRESH_MARGIN_SECONDS", 300)
