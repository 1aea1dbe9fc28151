"""Postaci settings, read from the environment.

Every value has a zero-setup default (SQLite, a filesystem Celery broker, development keys in
``var/``) so ``make run`` works on a fresh machine; production sets the environment variables
listed in README.md. Importing this module changes nothing on disk: ``manage.py local_setup``
(run by ``make run`` and ``make test``) creates ``var/`` and the development keys.
"""

from __future__ import annotations

import logging.config
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

from config.local import read_local_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
VAR_DIR = Path(env("POSTACI_VAR_DIR", default=str(BASE_DIR / "var")))
LOCAL_SQLITE_PATH = VAR_DIR / "postaci.sqlite3"

DEBUG = env.bool("DEBUG", default=False)

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{LOCAL_SQLITE_PATH}"),
}
# The development keys in var/ stand in for SECRET_KEY and POSTACI_ENCRYPTION_KEY only where
# one machine is all there is: the local SQLite file, or DEBUG. Anywhere else every machine
# would sign and encrypt with keys of its own (a worker could not read the passwords another
# saved; replies would stop linking), so there a missing key is an error (crm/checks.py).
POSTACI_LOCAL_KEYS = DEBUG or (
    DATABASES["default"]["ENGINE"].endswith("sqlite3")
    and Path(DATABASES["default"]["NAME"]).resolve() == LOCAL_SQLITE_PATH.resolve()
)
SECRET_KEY = env("SECRET_KEY", default="") or (
    read_local_key(VAR_DIR, "secret_key") if POSTACI_LOCAL_KEYS else ""
)
# Fernet keys for stored mailbox passwords; several (comma-separated, newest first) rotate.
POSTACI_ENCRYPTION_KEYS = env.list("POSTACI_ENCRYPTION_KEY", default=[]) or [
    key for key in [read_local_key(VAR_DIR, "encryption_key") if POSTACI_LOCAL_KEYS else ""] if key
]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # the admin modules are imported by config/urls.py (admin.autodiscover), not by every
    # process that loads the apps: a fetch or a worker never shows the admin
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_celery_beat",
    "crm",
    "mailboxes",
    "filters",
    "cases",
    "meetings",
    "mailtemplates",
    "ops",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "webhooks",
    "api",
]

MIDDLEWARE = [
    "ops.log_format.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.middleware.UserLanguageMiddleware",
    "crm.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "crm.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Server-side parameter binding: psycopg need not splice values into the (large,
    # multi-row) INSERTs of the intake itself; measured ~15% faster imports.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "server_side_binding", env.bool("DB_SERVER_SIDE_BINDING", default=True)
    )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat, watcher) share the file under `make run`.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
if env("POSTACI_TEST_DB_NAME", default=""):
    # Separate checkouts on one PostgreSQL server must not share a test database.
    DATABASES["default"]["TEST"] = {"NAME": env("POSTACI_TEST_DB_NAME")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "crm.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("tr", _("Turkish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never served directly: attachments go through a permission-checked view
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# the email page frames the email's own HTML (mailboxes/views/email.py): same origin only
X_FRAME_OPTIONS = "SAMEORIGIN"
SILENCED_SYSTEM_CHECKS = ["security.W019"]  # check --deploy's advice to DENY, see above
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

# --- Mail -----------------------------------------------------------------------------------
# System SMTP, used for notifications and digests (accounts carry their own SMTP settings).
# Django's SMTP backend, trusting POSTACI_MAIL_CA_FILE like the account connections do.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="mailboxes.sending.smtp.MailSmtpBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="postaci@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Hosts (or host:port) allowed even though they resolve to loopback/private addresses.
POSTACI_MAIL_HOST_ALLOWLIST = env.list("POSTACI_MAIL_HOST_ALLOWLIST", default=[])
# Settings discovery (mailboxes/connection/discovery.py): the DNS servers it asks ("host" or
# "host:port", IPv6 as "[::1]:53"; empty: the system's /etc/resolv.conf), the time one
# discovery may take in all and the time one DNS query or HTTP request may take.
POSTACI_DNS_NAMESERVERS = env.list("POSTACI_DNS_NAMESERVERS", default=[])
POSTACI_DISCOVERY_TIMEOUT = env.float("POSTACI_DISCOVERY_TIMEOUT", default=8.0)
POSTACI_DISCOVERY_STEP_TIMEOUT = env.float("POSTACI_DISCOVERY_STEP_TIMEOUT", default=3.0)
POSTACI_FETCH_BATCH_SIZE = env.int("POSTACI_FETCH_BATCH_SIZE", default=200)
# and at most this many bytes of messages a batch (a larger message alone): a fetch holds a
# batch in memory about three times over (bench/memory.py)
POSTACI_FETCH_BATCH_BYTES = env.int("POSTACI_FETCH_BATCH_BYTES", default=16 * 1024 * 1024)
POSTACI_MAX_MESSAGE_SIZE = env.int("POSTACI_MAX_MESSAGE_SIZE", default=25 * 1024 * 1024)
POSTACI_IMAP_TIMEOUT = env.float("POSTACI_IMAP_TIMEOUT", default=30.0)
# beat's poll leaves an account alone while the IMAP IDLE watcher holds it live, unless it
# has not been fetched for this long (seconds): a safety net for a server that stops telling.
POSTACI_WATCHED_POLL_SECONDS = env.int("POSTACI_WATCHED_POLL_SECONDS", default=30 * 60)
POSTACI_FAILURE_NOTIFY_THRESHOLD = env.int("POSTACI_FAILURE_NOTIFY_THRESHOLD", default=3)
# Bounces (mailboxes/bounces): an address turns invalid at its first hard bounce, or after this
# many soft bounces (a full mailbox, a refused message) within this many days.
POSTACI_SOFT_BOUNCE_LIMIT = env.int("POSTACI_SOFT_BOUNCE_LIMIT", default=3)
POSTACI_SOFT_BOUNCE_DAYS = env.int("POSTACI_SOFT_BOUNCE_DAYS", default=14)
# How often an open email list asks for new mail and fresh unread counts (seconds).
POSTACI_INBOX_POLL_SECONDS = env.int("POSTACI_INBOX_POLL_SECONDS", default=10)
# Domain used in the Message-IDs Postaci generates.
POSTACI_MESSAGE_ID_DOMAIN = env("POSTACI_MESSAGE_ID_DOMAIN", default="postaci.local")
POSTACI_SITE_URL = env("POSTACI_SITE_URL", default="http://127.0.0.1:8000")
# Extra certificate authorities (a PEM file) trusted for IMAP/SMTP TLS besides the system ones,
# e.g. a company CA that signed the mail server's certificate. Empty: system CAs only.
POSTACI_MAIL_CA_FILE = env("POSTACI_MAIL_CA_FILE", default="")
# Sending (mailboxes/sending): SMTP timeout, automatic attempts on temporary failures (4xx,
# connection errors) with exponential back-off, and how long an SMTP attempt may run before
# a message whose attempt never reported back is marked failed ("may have been sent").
POSTACI_SMTP_TIMEOUT = env.float("POSTACI_SMTP_TIMEOUT", default=30.0)
POSTACI_SEND_MAX_ATTEMPTS = env.int("POSTACI_SEND_MAX_ATTEMPTS", default=5)
POSTACI_SEND_RETRY_DELAY = env.float("POSTACI_SEND_RETRY_DELAY", default=60.0)
POSTACI_SEND_RETRY_MAX_DELAY = env.float("POSTACI_SEND_RETRY_MAX_DELAY", default=3600.0)
POSTACI_SEND_CLAIM_LEASE = env.float("POSTACI_SEND_CLAIM_LEASE", default=900.0)
POSTACI_MAX_RECIPIENTS = env.int("POSTACI_MAX_RECIPIENTS", default=100)
# Undo send: a person's Send waits this many seconds, during which "Undo" takes the email back
# into the draft (mailboxes/sending/scheduling.py); 0 sends at once.
POSTACI_UNDO_SEND_SECONDS = env.int("POSTACI_UNDO_SEND_SECONDS", default=10)
# OAuth 2.0 sign-in (mailboxes/connection/oauth.py): timeout of each request to a provider,
# and how early before its expiry an access token is refreshed (seconds).
POSTACI_OAUTH_TIMEOUT = env.float("POSTACI_OAUTH_TIMEOUT", default=10.0)
POSTACI_OAUTH_REFRESH_MARGIN = env.int("POSTACI_OAUTH_REFRESH_MARGIN", default=60)
# Providers from the environment (JSON list of objects with kind, name, client_id,
# client_secret, tenant, …); `manage.py oauth_providers` creates or updates their rows.
POSTACI_OAUTH_PROVIDERS = env.json("POSTACI_OAUTH_PROVIDERS", default=[])

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker that loses the broker cannot acknowledge its late-acknowledged tasks: the broker
# hands them out again, so stop them rather than finish work another worker will repeat
# (Celery 6's default; the intake is idempotent either way).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Fetches the IMAP IDLE watcher (and "Fetch now") asks for go to fetch_now, beat's poll to
# poll, everything else to celery (mailboxes/intake/queueing.py). A worker started without
# -Q consumes all three in this order; production runs -Q fetch_now,celery,poll (or a
# worker of its own for fetch_now): see the README.
CELERY_TASK_QUEUES = {"fetch_now": {}, "celery": {}, "poll": {}}
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"mailboxes.fetch_account": {"queue": "poll"}}
# Celery's Django fixup closes the database connection around every task unless it may reuse
# it; config/celery.py instead closes it as Django does after a request (DB_CONN_MAX_AGE, and
# always after an error), so a worker keeps it when DB_CONN_MAX_AGE says so.
CELERY_DB_REUSE_MAX = 2**62
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The folders are made by ``manage.py local_setup`` (config/local.py).
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis redelivers a task nobody acknowledged (its worker died: tasks are acknowledged
    # late) after this many seconds. Longer than the longest fetch, or a fetch still running
    # is delivered again (harmless: the account's lock turns the copy away, but it waits).
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env.int(
        "CELERY_VISIBILITY_TIMEOUT", default=3600
    )
if env("CELERY_KEY_PREFIX", default=""):
    # Lets several test runs share one Redis server without taking each other's tasks.
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env("CELERY_KEY_PREFIX")

# Distributed locks (one fetch per account at a time) live in the database, so no extra
# service is needed; see mailboxes/intake/locking.py.

# LOG_FORMAT=json: one JSON object per line with the request, task and account ids
# (ops/log_format.py); plain text otherwise. Either way no message body or secret is logged.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
# Configured here, when the settings load, not by django.setup(): Django's set-up applies its
# own DEFAULT_LOGGING first, whose mail_admins handler imports the error page's code
# (django.views.debug) in every process, a fetch and a worker too. What DEFAULT_LOGGING gave
# is below: server errors mailed to ADMINS (ops/log_handlers.py imports the reporter with
# the first one) and runserver's request lines; the django logger's other records go to the
# console like every logger's.
LOGGING_CONFIG = None
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ops.log_format.JsonFormatter"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    # A refused request (4xx) is logged as one line; server errors keep their traceback.
    "filters": {
        "client_errors_one_line": {"()": "crm.log_filters.ClientErrorsOnOneLine"},
        "context": {"()": "ops.log_format.ContextFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["client_errors_one_line", "context"],
        },
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "ops.log_handlers.AdminEmailHandler",
        },
        "django.server": {
            "level": "INFO",
            "class": "logging.StreamHandler",
            "formatter": "django.server",
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
logging.config.dictConfig(LOGGING)
# A worker logs through the handler above (JSON too) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# Operations (ops/): ``/metrics`` answers a bearer token or a client address in the allow-list
# (addresses or networks; behind a proxy on the same machine every client is 127.0.0.1, so
# prefer the token); neither set: nobody. ``/readyz`` wants beat's heartbeat younger than
# this (seconds) and waits this long for a worker to answer its ping.
POSTACI_METRICS_TOKEN = env("POSTACI_METRICS_TOKEN", default="")
POSTACI_METRICS_ALLOW = env.list("POSTACI_METRICS_ALLOW", default=[])
POSTACI_READY_BEAT_MAX_AGE = env.int("POSTACI_READY_BEAT_MAX_AGE", default=120)
POSTACI_READY_PING_TIMEOUT = env.float("POSTACI_READY_PING_TIMEOUT", default=1.0)

# --- Cache and REST API ---------------------------------------------------------------------
# The API's rate limits count in this cache: set CACHE_URL=redis://host:6379/1 in production
# so every web process counts together (the default counts per process).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browser, with CSRF
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "api.permissions.KeyMayWrite",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env("POSTACI_API_RATE", default="600/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "api.problems.problem_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Postaci API",
    "DESCRIPTION": "Cases, emails and CRM records of Postaci. Authenticate with an API key "
    "(`Authorization: Bearer <key>`) created in *My API keys*.",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "cases.models.Case.Status",
        "LeadStatusEnum": "crm.models.Lead.Status",
        "EmailStatusEnum": "mailboxes.models.Email.Status",
        "MailAccountStatusEnum": "mailboxes.models.MailAccount.Status",
        "SecurityEnum": "mailboxes.models.Security",
    },
}

# Webhooks (webhooks/sending.py): timeout of one delivery, first retry delay (doubling up to
# the maximum), attempts per delivery, and how long an endpoint may fail before it is
# turned off and its owner told (seconds).
POSTACI_WEBHOOK_TIMEOUT = env.float("POSTACI_WEBHOOK_TIMEOUT", default=10.0)
POSTACI_WEBHOOK_RETRY_DELAY = env.float("POSTACI_WEBHOOK_RETRY_DELAY", default=30.0)
POSTACI_WEBHOOK_RETRY_MAX_DELAY = env.float("POSTACI_WEBHOOK_RETRY_MAX_DELAY", default=3600.0)
POSTACI_WEBHOOK_MAX_ATTEMPTS = env.int("POSTACI_WEBHOOK_MAX_ATTEMPTS", default=30)
POSTACI_WEBHOOK_DISABLE_AFTER = env.int("POSTACI_WEBHOOK_DISABLE_AFTER", default=24 * 60 * 60)

# How often an open page asks for the unread notification count (seconds).
POSTACI_NOTIFICATION_POLL_SECONDS = env.int("POSTACI_NOTIFICATION_POLL_SECONDS", default=30)
# Read notifications older than this many days are deleted by a daily job.
POSTACI_NOTIFICATION_RETENTION_DAYS = env.int("POSTACI_NOTIFICATION_RETENTION_DAYS", default=90)

# Record access for users who have no role at all (``no``, ``own``, ``team`` or ``all``).
POSTACI_DEFAULT_ACCESS_LEVEL = env("POSTACI_DEFAULT_ACCESS_LEVEL", default="own")
# Charset for mail text whose declared charset is missing or wrong and that is not UTF-8.
POSTACI_FALLBACK_CHARSET = env("POSTACI_FALLBACK_CHARSET", default="windows-1254")

# --- Cases ----------------------------------------------------------------------------------
# Case statuses that count as open work (least-busy distribution counts these per agent).
POSTACI_CASE_OPEN_STATUSES = env.list(
    "POSTACI_CASE_OPEN_STATUSES", default=["new", "assigned", "pending"]
)
# Auto-reply loop guard: at most this many auto-replies to one sender address, and to one
# case, within the period (seconds).
POSTACI_AUTO_REPLY_LIMIT = env.int("POSTACI_AUTO_REPLY_LIMIT", default=5)
POSTACI_AUTO_REPLY_CASE_LIMIT = env.int("POSTACI_AUTO_REPLY_CASE_LIMIT", default=1)
POSTACI_AUTO_REPLY_PERIOD = env.int("POSTACI_AUTO_REPLY_PERIOD", default=2 * 60 * 60)
# No auto-reply to mail older than this (seconds; by its Date): a newly monitored folder's
# history is not answered.
POSTACI_AUTO_REPLY_MAX_AGE = env.int("POSTACI_AUTO_REPLY_MAX_AGE", default=3 * 24 * 60 * 60)
