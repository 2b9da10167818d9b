"""Django settings for Cothon.

Everything comes from the environment (see docs/configuration.md). The defaults are the
embedded stack that `make run` uses: SQLite, kombu's filesystem broker, no Redis. Setting
DATABASE_URL / REDIS_URL switches to the production stack (PostgreSQL + Redis).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from cothon.env import env_bool, env_int, env_list, env_str
from cothon.logs import logging_config
from cothon.private_files import private_dir, private_file, read_or_create_secret

BASE_DIR = Path(__file__).resolve().parent.parent
# var/ holds keys, the SQLite database, the broker's messages and generated documents: owner only.
VAR_DIR = private_dir(Path(env_str("COTHON_VAR_DIR", str(BASE_DIR / "var"))))

DEBUG = env_bool("DJANGO_DEBUG", False)
# `make run` (and the test suite) set COTHON_DEMO=1: the keys below are then generated into var/
# when not given. Anything else with DEBUG off must be given both keys, or it refuses to start.
COTHON_DEMO = env_bool("COTHON_DEMO", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
# Comma-separated Fernet keys, newest first (python manage.py rotate_token_keys re-encrypts).
COTHON_ENCRYPTION_KEYS = env_list("COTHON_ENCRYPTION_KEYS", [])
# Read by integrations.crypto: without keys, a process would invent its own and the others could
# not decrypt what it stored (web and workers in separate containers).
COTHON_REQUIRE_ENCRYPTION_KEYS = not (DEBUG or COTHON_DEMO)
if COTHON_REQUIRE_ENCRYPTION_KEYS:
    _missing = [name for name, value in (("DJANGO_SECRET_KEY", SECRET_KEY), ("COTHON_ENCRYPTION_KEYS", COTHON_ENCRYPTION_KEYS))
                if not value]
    if _missing:
        raise ImproperlyConfigured(
            f"{' and '.join(_missing)} must be set (see docs/configuration.md). Only the demo (COTHON_DEMO=1, "
            "set by `make run`) or DJANGO_DEBUG=1 generates them into var/."
        )
if not SECRET_KEY:
    # Demo/development only: a stable key kept in var/ so sessions survive restarts.
    import secrets

    SECRET_KEY = read_or_create_secret(VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50))

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
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "csp",
    "cothon",
    "opportunities",
    "proposals",
    "integrations",
    "sync_engine",
    "sync_engine.pull",
    "sync_engine.legacy",
    "sync_engine.validation",
    "sync_engine.quotes",
    "sync_engine.appointments",
    "sync_engine.alerts",
    "demo",  # entry points (demo seeding): above every layer
]

MIDDLEWARE = [
    # First: every later log line of the request carries its id (docs/monitoring.md).
    "cothon.request_id.RequestIdMiddleware",
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
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
                "sync_engine.context_processors.open_conflicts",
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
    SQLITE_PATH = Path(env_str("SQLITE_PATH", str(VAR_DIR / "cothon.sqlite3")))
    # Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
    private_file(SQLITE_PATH)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
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
# django-axes first: it refuses a login attempt from a locked-out username + IP before the
# password is even checked (docs/configuration.md, "Login throttling").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("COTHON_LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = env_int("COTHON_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("COTHON_LOGIN_COOLOFF_MINUTES", 15))
# Per username AND address: an attacker guessing one user's password is stopped, while that
# user can still log in from their own machine, and one office IP does not lock out everyone.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "cothon.views.locked_out"
AXES_VERBOSE = False
# Failed API token attempts per client address within the window before 429 (cothon.tenancy.throttle).
COTHON_API_AUTH_FAILURE_LIMIT = env_int("COTHON_API_AUTH_FAILURE_LIMIT", 20)
COTHON_API_AUTH_FAILURE_WINDOW_SECONDS = env_int("COTHON_API_AUTH_FAILURE_WINDOW_SECONDS", 300)

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
MEDIA_ROOT = private_dir(Path(env_str("COTHON_MEDIA_ROOT", str(VAR_DIR / "media"))))
# Generated documents are tenant data: owner-only, whatever the process umask.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
MEDIA_URL = "/media/"

# Requests larger than this are refused before they reach a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("COTHON_MAX_REQUEST_BYTES", 2 * 1024 * 1024)
# Django's database sessions, refusing a malformed session cookie (cothon/sessions.py).
SESSION_ENGINE = "cothon.sessions"

REDIS_URL = env_str("REDIS_URL", "")
# Prefix of Cothon's own Redis keys (the governor), so several deployments or test runs can
# share one Redis server without sharing state.
COTHON_REDIS_KEY_PREFIX = env_str("COTHON_REDIS_KEY_PREFIX", "cothon")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": env_str("COTHON_CACHE_PREFIX", "")}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
else:
    # A broker with no server: kombu's filesystem transport, through cothon/broker.py (atomic
    # writes; an unreadable message file is logged and set aside in bad/, never fatal). One
    # shared folder for in and out, so every process (web, workers, beat) sees the same queues.
    # Messages carry record data: the folders are owner-only.
    for _folder in ("", "queue", "processed", "control"):
        private_dir(BROKER_DIR / _folder)
    # Importing cothon.broker registers its scheme with kombu (kombu refuses import paths in a
    # URL), in every process that loads these settings; the URL alone then picks the transport.
    from cothon.broker import TRANSPORT_ALIAS

    CELERY_BROKER_URL = f"{TRANSPORT_ALIAS}://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "bad_folder": str(BROKER_DIR / "bad"),
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
# Task modules not named tasks.py (autodiscover finds only those).
CELERY_IMPORTS = ("sync_engine.appointments.routing_tasks", "sync_engine.appointments.results_tasks")
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
    # Pinned copies served from /static/ (drf-spectacular-sidecar): the docs work offline and
    # under the Content-Security-Policy, instead of loading @latest from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge from validator.swagger.io: offline, and outside the Content-Security-Policy.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OpportunityStatusEnum": "opportunities.models.OpportunityStatus",
        "BidAnalysisStatusEnum": "opportunities.models.BidAnalysisStatus",
        "ProposalStatusEnum": "proposals.models.ProposalStatus",
        "QuoteStatusEnum": "proposals.models.QuoteStatus",
        "QuoteLineKindEnum": "proposals.models.LineKind",
        "QuoteCustomFieldTypeEnum": "proposals.models.CustomFieldType",
        "LegacyProposalStatusEnum": "sync_engine.legacy.models.ProposalStatus",
        "LegacyMatchJobStatusEnum": "sync_engine.legacy.models.JobStatus",
    },
}

# --- Salesforce -----------------------------------------------------------------------------
# Where Cothon may send a login or an API call (integrations.salesforce.hosts): https Salesforce
# domains, plus these host names or suffixes (".example.gov" = any host under it), e.g. a
# government cloud or a proxy the operator trusts.
COTHON_SALESFORCE_HOST_ALLOWLIST = env_list("COTHON_SALESFORCE_HOST_ALLOWLIST", [])
# The local emulator (http or https on 127.0.0.1/localhost): only `make run` and the tests set it.
COTHON_ALLOW_LOOPBACK_SALESFORCE = env_bool("COTHON_ALLOW_LOOPBACK_SALESFORCE", False)
SALESFORCE_API_VERSION = env_str("SALESFORCE_API_VERSION", "59.0")
SALESFORCE_HTTP_TIMEOUT = float(env_str("SALESFORCE_HTTP_TIMEOUT", "30"))
# Logs: human-readable lines by default (and `make run`); COTHON_LOG_FORMAT=json writes one JSON
# object per line with the request / task correlation ids (cothon/logs.py, docs/monitoring.md).
COTHON_LOG_FORMAT = "json" if env_str("COTHON_LOG_FORMAT", "text").strip().lower() == "json" else "text"
LOGGING = logging_config(fmt=COTHON_LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))

# --- Monitoring (docs/monitoring.md) --------------------------------------------------------
# /metrics answers only with `Authorization: Bearer <this>`; unset, /metrics is a 404.
COTHON_METRICS_TOKEN = env_str("COTHON_METRICS_TOKEN", "")
# /readyz: the queues that must each have a worker heartbeat, and how old a heartbeat or beat's
# last tick (the 15 s outbox sweep) may be.
COTHON_READY_QUEUES = env_list("COTHON_READY_QUEUES", ["realtime", "default", "bulk"])
COTHON_READY_WORKER_MAX_AGE = float(env_int("COTHON_READY_WORKER_MAX_AGE", 60))
COTHON_READY_BEAT_MAX_AGE = float(env_int("COTHON_READY_BEAT_MAX_AGE", 90))

# --- HTTP security headers (docs/configuration.md, "HTTPS and security headers") ------------
# COTHON_HTTPS=1 when users reach Cothon over HTTPS (directly or through a TLS proxy that sets
# X-Forwarded-Proto): Secure cookies, HSTS and a redirect of plain-HTTP requests.
COTHON_HTTPS = env_bool("COTHON_HTTPS", False) or env_bool("COTHON_SECURE_COOKIES", False)
if COTHON_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("COTHON_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("COTHON_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_SSL_REDIRECT = env_bool("COTHON_SSL_REDIRECT", True)
    # /healthz, /readyz and /metrics are probed and scraped over plain HTTP inside the
    # container network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if env_bool("COTHON_BEHIND_TLS_PROXY", COTHON_HTTPS):
    # Only behind a proxy that overwrites X-Forwarded-Proto; otherwise a client could forge it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# No inline script anywhere (templates load cothon/js/*.js; htmx runs with allowEval off);
# style attributes stay allowed (progress bars, Redoc and Swagger UI set inline styles).
_SELF, _NONE = "'self'", "'none'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF, "'unsafe-inline'"],
        "img-src": [_SELF, "data:"],
        "font-src": [_SELF, "data:"],
        "connect-src": [_SELF],
        # Redoc renders in a web worker it builds from a blob.
        "worker-src": [_SELF, "blob:"],
        "object-src": [_NONE],
        "base-uri": [_SELF],
        "frame-ancestors": [_NONE],
    },
}

# Outbox claims and governor slots are leases: a live worker renews them every third of this
# (heartbeat), so a killed worker's rows and slot come back within about a minute (sweeper).
COTHON_OUTBOX_LEASE_SECONDS = env_int("COTHON_OUTBOX_LEASE_SECONDS", 45)
# Records per collections batch (≤ 200, Salesforce's cap): smaller batches settle more often.
COTHON_PUSH_BATCH_SIZE = env_int("COTHON_PUSH_BATCH_SIZE", 200)
# Real-time coalescing (sync_engine.fanout.push_due_in): a save's push waits until no change
# arrived for QUIET ms, or a full collection is waiting, or the oldest change's age plus the
# time recent pushes took reaches MAX ms (its budget, save → in Salesforce), so a burst of
# saves goes out in as few calls as the budget allows. Either 0: push at once.
COTHON_COALESCE_QUIET_MS = env_int("COTHON_COALESCE_QUIET_MS", 150)
# Real-time pull: the contact roles of opportunities applied from Outbound Messages are read
# together, at most once per connection every this many seconds (0: with each batch).
COTHON_CONTACT_ROLES_DEBOUNCE_SECONDS = env_int("COTHON_CONTACT_ROLES_DEBOUNCE_SECONDS", 5)
COTHON_COALESCE_MAX_MS = env_int("COTHON_COALESCE_MAX_MS", 950)
# While an org's API allowance is used up, one cheap /limits call this often tells whether
# capacity is back (the pause's own estimate may be hours ahead; Salesforce may reset sooner).
COTHON_LIMITS_PROBE_SECONDS = env_int("COTHON_LIMITS_PROBE_SECONDS", 300)
# Create the org's Outbound Message + workflow rule (real-time pull) when a connection that
# pulls connects or saves its settings (sync_engine.pull.rules). The test suite switches it off.
COTHON_OUTBOUND_RULES_AUTO = env_bool("COTHON_OUTBOUND_RULES_AUTO", True)

CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "sync_engine.sweep_outbox", "schedule": float(env_int("COTHON_SWEEP_SECONDS", 15))},
    "deadline-reminders": {"task": "sync_engine.deadline_reminders", "schedule": 3600.0},
    "scheduled-syncs": {"task": "sync_engine.scheduled_syncs", "schedule": 60.0},
    # Salesforce → Cothon: each connection's incremental pull when due, and Outbound Messages
    # whose processing task was lost (sync_engine.pull).
    "scheduled-pulls": {"task": "sync_engine.pull.scheduled_pulls", "schedule": 60.0},
    # Each connection's reconciliation when due (every frequencies.reconciliation_minutes).
    "scheduled-reconciliations": {"task": "sync_engine.scheduled_reconciliations", "schedule": 60.0},
    "sweep-notifications": {"task": "sync_engine.pull.sweep_notifications", "schedule": float(env_int("COTHON_SWEEP_SECONDS", 15))},
    # Quotes from Salesforce (sync_engine.quotes): notifications whose processing task was lost,
    # and Synchronize now runs whose worker died.
    "sweep-quotes": {"task": "sync_engine.quotes.sweep", "schedule": float(env_int("COTHON_SWEEP_SECONDS", 15))},
    # Appointments (seed 002): each connection with appointments on, every incremental_minutes;
    # a pull whose task was lost is sent again (sync_engine.appointments.runs).
    "scheduled-appointment-pulls": {"task": "sync_engine.appointments.scheduled_pulls", "schedule": 60.0},
    # Alerts (sync_engine.alerts, docs/alerts.md): open and resolve incidents from each connection's
    # health, then send the deliveries that are due (new ones and retries).
    "evaluate-alerts": {"task": "sync_engine.alerts.evaluate", "schedule": float(env_int("COTHON_ALERTS_EVALUATE_SECONDS", 60))},
}

# The product-wide connected app used when a connection has no client id of its own.
SALESFORCE_CLIENT_ID = env_str("SALESFORCE_CLIENT_ID", "")
SALESFORCE_CLIENT_SECRET = env_str("SALESFORCE_CLIENT_SECRET", "")
# Refresh an access token this long before its assumed expiry (Salesforce's session timeout is
# an org setting that the token response does not carry; 2 hours is the default).
SALESFORCE_SESSION_SECONDS = env_int("SALESFORCE_SESSION_SECONDS", 7200)
SALESFORCE_REFRESH_MARGIN_SECONDS = env_int("SALESFORCE_REFRESH_MARGIN_SECONDS", 300)

# E-mail (routing's backup e-mails, docs/routing.md). Production: an SMTP relay from the
# environment. `make run` points these at its local SMTP catcher (scripts/smtp_catcher.py).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Cothon <no-reply@cothon.invalid>")
# The folder where `make run`'s SMTP catcher writes each message it receives (one .eml file
# each). Set only by `make run`: the "Outbox (demo)" page exists only while this is set.
COTHON_DEMO_OUTBOX_DIR = env_str("COTHON_DEMO_OUTBOX_DIR", "")
# Alert webhooks (docs/alerts.md) go to https URLs on public addresses only. Set this to also
# allow http and https URLs on loopback and private addresses (a receiver inside your network).
COTHON_ALERTS_ALLOW_PRIVATE_WEBHOOKS = env_bool("COTHON_ALERTS_ALLOW_PRIVATE_WEBHOOKS", False)
