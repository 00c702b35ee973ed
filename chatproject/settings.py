"""Settings for the chat backend.

Every deployment value comes from the environment; the defaults run a bare checkout
(SQLite, the in-memory channel layer, DEBUG on). See `.env.example` for the full list.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

_DEV_SECRET = "dev-insecure-secret-key-change-me-0123456789abcdef0123456789"
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
INTERNAL_API_TOKEN = env_str("INTERNAL_API_TOKEN")
if not DEBUG:
    _missing = [n for n, v in (("DJANGO_SECRET_KEY", SECRET_KEY), ("INTERNAL_API_TOKEN", INTERNAL_API_TOKEN)) if not v]
    if _missing:
        raise ImproperlyConfigured(
            f"DJANGO_DEBUG is off but {', '.join(_missing)} is not set. "
            "Set a long random value for each (see .env.example), or set DJANGO_DEBUG=1 for development."
        )
SECRET_KEY = SECRET_KEY or _DEV_SECRET
INTERNAL_API_TOKEN = INTERNAL_API_TOKEN or "dev-internal-token"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "meta",
    "send",
    "gateway",
    "registry",
    "attachments",
    "reports",
    "runtime",
]

MIDDLEWARE = [
    "chatproject.middleware.RequestIdMiddleware",
    "chatproject.middleware.AllowedHostMiddleware",
    "chatproject.middleware.RequestMetricsMiddleware",
    "chatproject.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "chatproject.middleware.JsonErrorMiddleware",
]

ROOT_URLCONF = "chatproject.urls"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

WSGI_APPLICATION = None
ASGI_APPLICATION = "chatproject.asgi.application"

# --- Database ---------------------------------------------------------------------------
# SQLite by default: WAL and IMMEDIATE transactions so that concurrent requests serialise
# on the write lock instead of failing with "database is locked" mid-transaction.
_SQLITE_PATH = BASE_DIR / "db.sqlite3"
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(_SQLITE_PATH)}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not :memory:, so that threads and child processes of the tests share it.
    DATABASES["default"]["TEST"] = {"NAME": env_str("SQLITE_TEST_PATH", f"/tmp/chat-test-{os.getpid()}.sqlite3")}
# Under ASGI every request may run in another thread: persistent connections leak. On
# PostgreSQL, connections come from a pool instead (Django closes them back into it), so a
# request or a socket handshake never pays for a new connection, and a burst of them waits
# for a free one rather than exhausting the server's max_connections.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 8)
# Threads that run HTTP requests' sync parts (views, middleware) at once; more requests wait on
# the event loop for one (chatproject.asgi_handler). About twice the database pool: a request
# mostly waits on the database.
HTTP_THREADS = env_int("HTTP_THREADS", 16)
if HTTP_THREADS < 1:
    raise ImproperlyConfigured("HTTP_THREADS must be at least 1")
# A database blip (chatproject.postgres): while PostgreSQL is unreachable, requests get their 503
# at once instead of after the pool's timeout, which stays for a busy database; a connection is
# tried every DB_BREAKER_PROBE_SECONDS, and the first that succeeds brings a fresh pool.
# DB_CONNECT_TIMEOUT_SECONDS bounds a connection attempt to a server that does not answer
# (psycopg counts whole seconds, at least 2).
DB_CONNECT_TIMEOUT_SECONDS = env_int("DB_CONNECT_TIMEOUT_SECONDS", 2)
DB_BREAKER_PROBE_SECONDS = env_float("DB_BREAKER_PROBE_SECONDS", 0.5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "chatproject.postgres"
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DB_CONNECT_TIMEOUT_SECONDS)
    if DB_POOL_MAX_SIZE > 0:
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env_float("DB_POOL_TIMEOUT_SECONDS", 10.0),
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "meta.User"
AUTH_PASSWORD_VALIDATORS: list[dict] = []  # the contract's own rules (6–128 chars) apply, see meta.services
PASSWORD_HASHERS = env_list(
    "DJANGO_PASSWORD_HASHERS",
    ["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
)

# --- Redis and the channel layer --------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Keys of the channel layer and of the gateways' liveness set start with this.
REDIS_KEY_PREFIX = env_str("CHANNEL_LAYER_PREFIX", "chat")
# redis-py 8 caps a pool at 100 connections by default; a burst of WebSocket handshakes needs
# more than that, so the size is set explicitly.
REDIS_POOL_SIZE = env_int("REDIS_POOL_SIZE", 1000)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8's default socket timeout (5 s) equals channels-redis's blocking
                # receive (5 s): every idle receive would time out. Keep it well above.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": REDIS_POOL_SIZE,
                        "socket_timeout": env_float("REDIS_SOCKET_TIMEOUT_SECONDS", 15.0),
                        "socket_connect_timeout": 5,
                    }
                ],
                "prefix": REDIS_KEY_PREFIX,
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 5000),
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": env_int("CHANNEL_LAYER_CAPACITY", 5000)},
        }
    }

# The cache holds throttle counts and login lockouts. With Redis they hold across every process
# of a cluster; its keys carry their own prefix, apart from the channel layer's (never call
# cache.clear() on it: Django's Redis cache would flush the whole database).
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "chat-cache")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("CACHE_REDIS_URL", REDIS_URL),
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 3, "socket_timeout": 3},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- HTTP API ---------------------------------------------------------------------------
# Request bodies over this are refused with 413 before they are read (chatproject.http_limits).
MAX_BODY_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES
# A request body Django holds in memory up to this size, beyond it in a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES

# --- Attachments (API.md §10) -------------------------------------------------------------
# Largest upload (413 beyond, refused as soon as the size is known); the body may carry a few
# KiB of multipart framing on top.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 25 * 1024 * 1024)
UPLOAD_MULTIPART_OVERHEAD_BYTES = 64 * 1024
# How long a signed file URL works; every message object carries a freshly signed one.
UPLOAD_URL_SECONDS = env_int("UPLOAD_URL_SECONDS", 7 * 24 * 3600)
# An image of more pixels is stored as a plain download, never drawn inline (decompression bombs).
UPLOAD_IMAGE_MAX_PIXELS = env_int("UPLOAD_IMAGE_MAX_PIXELS", 50_000_000)
# Files no message refers to are deleted by `manage.py attachments_cleanup` once this old.
ATTACHMENTS_ORPHAN_SECONDS = env_int("ATTACHMENTS_ORPHAN_SECONDS", 24 * 3600)
# The scheme, host (and path prefix) of file URLs, e.g. https://chat.example.com; empty: the
# scheme and host each upload request came in on.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
# Where uploads live: the local filesystem (MEDIA_ROOT) by default, never served as static files;
# an S3-compatible bucket (django-storages) when AWS_STORAGE_BUCKET_NAME is set.
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / "media"))
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")

# Paths whose view reads the body as a stream, exempt from MAX_BODY_BYTES: path -> its own limit
# in bytes (refused at once from Content-Length, and as a chunked body passes it), or None.
STREAMING_BODY_PATHS: dict[str, int | None] = {
    "/api/chat/upload": UPLOAD_MAX_BYTES + UPLOAD_MULTIPART_OVERHEAD_BYTES,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["meta.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["chatproject.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "chatproject.exception_handler.exception_handler",
    "DEFAULT_METADATA_CLASS": "chatproject.metadata.EnvelopeMetadata",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("LOGIN_RATE", "30/min"),
        "register": env_str("REGISTER_RATE", "30/min"),
    },
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_SCHEMA_CLASS": "chatproject.openapi.EnvelopeAutoSchema",
    # Behind N reverse proxies the client address (for throttles) is the Nth from the right of
    # X-Forwarded-For; unset: the peer address, and X-Forwarded-For is ignored.
    "NUM_PROXIES": _NUM_PROXIES if (_NUM_PROXIES := env_int("NUM_PROXIES", -1)) >= 0 else None,
}

# The OpenAPI schema (/api/schema/) and its docs page (/api/docs/, Swagger UI), public and
# served with their assets from this process (drf-spectacular-sidecar: no CDN). The
# description, tags and the paths outside DRF come from chatproject.openapi.
SPECTACULAR_SETTINGS = {
    "TITLE": "Chat backend API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "displayOperationId": True},
    "POSTPROCESSING_HOOKS": [
        "chatproject.openapi.hooks.add_plain_endpoints",
        "drf_spectacular.hooks.postprocess_schema_enums",
    ],
}

# Lockouts after failed logins, on /login and the Django admin (meta.services.login_guard):
# an address or an account with this many failures within the window is refused (429) for
# LOGIN_LOCKOUT_SECONDS, whatever the password.
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 20)
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 10)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_LIFETIME_SECONDS", 2 * 3600)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_REFRESH_LIFETIME_SECONDS", 14 * 24 * 3600)),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,
    # A refresh token works once: /api/token/refresh blacklists it and answers a new one.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}

# --- Internationalisation and static files ----------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if AWS_STORAGE_BUCKET_NAME:
    from boto3.s3.transfer import TransferConfig

    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,  # MinIO, Ceph, R2, ...: their URL
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,  # unset: boto3's own chain (role, profile)
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "location": env_str("AWS_LOCATION", "chat"),
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE") or None,
            "default_acl": None,  # the bucket's own (private): files are served through the signed URLs
            "file_overwrite": False,
            # Reading a file spools it to disk beyond 1 MiB (django-storages keeps it all in memory
            # by default); uploads go one 8 MiB part at a time.
            "max_memory_size": MAX_BODY_BYTES,
            "transfer_config": TransferConfig(
                multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, use_threads=False
            ),
        },
    }
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Logging and metrics ----------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# "plain" (readable lines) or "json" (one object per line: time, level, logger, message,
# request_id, exception); see chatproject/logging.py.
LOG_FORMAT = env_str("LOG_FORMAT", "plain").strip().lower() or "plain"
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
# Servers log request paths with their query strings (`/api/ws?token=...`): their loggers write
# through the redacting console handler only, not through handlers of their own.
_SERVER_LOGGERS = ("daphne.server", "daphne.http_protocol", "daphne.ws_protocol", "uvicorn", "uvicorn.access",
                   "uvicorn.error")  # fmt: skip
# uvicorn writes two INFO lines for every socket it opens: off unless LOG_EACH_SOCKET.
LOG_EACH_SOCKET = env_bool("LOG_EACH_SOCKET", False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "chatproject.middleware.RequestIdLogFilter"},
        "redact_secrets": {"()": "chatproject.logging.RedactSecretsFilter"},
        "per_socket_lines": {"()": "chatproject.logging.PerSocketLinesFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "chatproject.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": sys.stderr,
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "INFO"},
        **{
            name: {
                "handlers": ["console"],
                # The per-socket lines are dropped first, before the redaction's work.
                "filters": ([] if LOG_EACH_SOCKET or name != "uvicorn.error" else ["per_socket_lines"])
                + ["redact_secrets"],
                "propagate": False,
            }
            for name in _SERVER_LOGGERS
        },
    },
}
# Empty: /metrics is open (keep it on an internal network); else scrapers must send
# `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- Registry and process roles ---------------------------------------------------------
# Which services' background duties this process carries (every process answers every path):
# "all" (the single-process default) or a comma list of meta, send, registry, gateway. A
# process with "gateway" registers as a gateway instance, one with "send" as a send instance.
_KNOWN_ROLES = {"all", "meta", "send", "registry", "gateway"}
CHAT_ROLES = env_list("CHAT_ROLES", ["all"])
if set(CHAT_ROLES) - _KNOWN_ROLES:
    raise ImproperlyConfigured(
        f"CHAT_ROLES has unknown roles {sorted(set(CHAT_ROLES) - _KNOWN_ROLES)}; use {sorted(_KNOWN_ROLES)}"
    )
# Register, heartbeat and unregister this process's instances (off in tests).
CHAT_BACKGROUND_TASKS = env_bool("CHAT_BACKGROUND_TASKS", True)
# Liveness: a heartbeat every period; no heartbeat for DEAD_AFTER seconds = dead.
REGISTRY_HEARTBEAT_SECONDS = env_float("REGISTRY_HEARTBEAT_SECONDS", 10.0)
REGISTRY_DEAD_AFTER_SECONDS = env_float("REGISTRY_DEAD_AFTER_SECONDS", 30.0)
# A failed heartbeat (the database or the registry away) is tried again this soon.
REGISTRY_HEARTBEAT_RETRY_SECONDS = env_float("REGISTRY_HEARTBEAT_RETRY_SECONDS", 1.0)
REGISTRY_RECONNECT_LEASE_SECONDS = env_float("REGISTRY_RECONNECT_LEASE_SECONDS", 120.0)
# The choice of a gateway reads the gateways' records from a copy in the process taken again
# when it is this old (or when a gateway registers or heartbeats through this process).
REGISTRY_SNAPSHOT_SECONDS = env_float("REGISTRY_SNAPSHOT_SECONDS", 1.0)
# The fast liveness signal (with Redis): each gateway's beat thread refreshes its entry every BEAT
# seconds while its event loop shows progress (a tick within STALL seconds); an entry older than
# TTL seconds marks the gateway dead at once (0: off). See runtime/liveness.py.
REGISTRY_LIVENESS_BEAT_SECONDS = env_float("REGISTRY_LIVENESS_BEAT_SECONDS", 1.0)
REGISTRY_LIVENESS_TTL_SECONDS = env_float("REGISTRY_LIVENESS_TTL_SECONDS", 3.0)
REGISTRY_LIVENESS_STALL_SECONDS = env_float("REGISTRY_LIVENESS_STALL_SECONDS", 10.0)
# Records dead for this long are deleted (with their routes); until then the admin shows them.
REGISTRY_PURGE_AFTER_SECONDS = env_float("REGISTRY_PURGE_AFTER_SECONDS", 24 * 3600.0)
if REGISTRY_HEARTBEAT_SECONDS <= 0 or REGISTRY_DEAD_AFTER_SECONDS <= REGISTRY_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("REGISTRY_DEAD_AFTER_SECONDS must be larger than REGISTRY_HEARTBEAT_SECONDS (> 0)")
# Empty = talk to the registry in process (shared database); else its base URL, e.g.
# http://127.0.0.1:8083, reached with X-Internal-Token.
REGISTRY_URL = env_str("REGISTRY_URL").rstrip("/")
# This process as a gateway and as a send instance. Unset values derive from the port the
# process serves on (8000 until `manage.py serve --port N` or the first request tells it, see
# runtime.identity): GATEWAY_ID "gw-<hostname>-<port>", GATEWAY_WS_URL
# "ws://<address>:<port>/api/ws", SEND_INSTANCE_ID "send-<hostname>-<port>", SEND_URL
# "http://<address>:<port>". Stable across restarts; set GATEWAY_ID explicitly in a cluster.
import socket as _socket  # noqa: E402

_HOST_LABEL = "".join(c if (c.isascii() and c.isalnum()) or c in "-." else "-" for c in _socket.gethostname())[:40]
_HOST_LABEL = _HOST_LABEL or "host"
GATEWAY_ADDRESS = env_str("GATEWAY_ADDRESS", "127.0.0.1")
GATEWAY_PORT = env_int("GATEWAY_PORT", 8000)
GATEWAY_ID = env_str("GATEWAY_ID") or f"gw-{_HOST_LABEL}-{GATEWAY_PORT}"
GATEWAY_WS_URL = env_str("GATEWAY_WS_URL")
GATEWAY_CAPACITY = env_int("GATEWAY_CAPACITY", 10000)
SEND_ADDRESS = env_str("SEND_ADDRESS", "127.0.0.1")
SEND_PORT = env_int("SEND_PORT", 8000)
SEND_INSTANCE_ID = env_str("SEND_INSTANCE_ID") or f"send-{_HOST_LABEL}-{SEND_PORT}"
SEND_URL = env_str("SEND_URL").rstrip("/")

# --- Gateway and delivery ---------------------------------------------------------------
# Browser origins allowed to open /api/ws (comma list of "https://host[:port]", or "*").
# Empty: an Origin whose host is in ALLOWED_HOSTS. Clients without an Origin are always allowed.
WS_ALLOWED_ORIGINS = env_list("WS_ALLOWED_ORIGINS", [])
WS_MAX_CONNECTIONS_PER_USER = env_int("WS_MAX_CONNECTIONS_PER_USER", 10)
# Handshakes (and closes) are gathered into batches, each one database call of a few queries:
# a batch is taken when its first socket has waited WS_HANDSHAKE_BATCH_WAIT_MS, or at once at
# WS_HANDSHAKE_BATCH_MAX sockets. Beyond WS_HANDSHAKE_QUEUE_MAX handshakes waiting or in a batch,
# a new socket is closed at once with 1013 (try again later).
WS_HANDSHAKE_BATCH_WAIT_MS = env_float("WS_HANDSHAKE_BATCH_WAIT_MS", 3.0)
WS_HANDSHAKE_BATCH_MAX = env_int("WS_HANDSHAKE_BATCH_MAX", 200)
WS_HANDSHAKE_QUEUE_MAX = env_int("WS_HANDSHAKE_QUEUE_MAX", 5000)
# Those batches, and the sockets' position and catch-up reads, run at most this many at a time
# in a process (chatproject.coalescer.BatchGate): their Python work takes the GIL from the loop.
DB_BATCHES_AT_ONCE = env_int("DB_BATCHES_AT_ONCE", 1)
# A message an ack-mode socket has not confirmed is written again after this many seconds.
DELIVERY_REDELIVERY_SECONDS = env_float("DELIVERY_REDELIVERY_SECONDS", 10.0)
# Confirmations are written to the database in batches, this often.
DELIVERY_CONFIRM_FLUSH_SECONDS = env_float("DELIVERY_CONFIRM_FLUSH_SECONDS", 1.0)
# A room's message that reaches a gateway ahead of the one before it (two sends crossing) waits
# this long for it, so every socket takes both in order (gateway.delivery.reorder); 0: never.
DELIVERY_REORDER_SECONDS = env_float("DELIVERY_REORDER_SECONDS", 0.05)
# How often a gateway compares the database with what its sockets were written (lost pushes).
DELIVERY_SWEEP_SECONDS = env_float("DELIVERY_SWEEP_SECONDS", 5.0)
# Bytes a socket may hold that its client has not provably read (a pong after them); owed
# timeline frames beyond it wait in the database until the client reads.
DELIVERY_MAX_UNPROVEN_BYTES = env_int("DELIVERY_MAX_UNPROVEN_BYTES", 1024 * 1024)
# A socket whose budget stays full this long without a proof of reading is closed with 4008.
DELIVERY_SLOW_SECONDS = env_float("DELIVERY_SLOW_SECONDS", 15.0)
# Read receipts, typing and presence (API.md §7.3, §7.4): the largest rooms whose members are
# told of each other's reading, typing and coming and going, and the grace period before a user
# whose last socket closed counts as offline.
READ_RECEIPTS_MAX_MEMBERS = env_int("READ_RECEIPTS_MAX_MEMBERS", 100)
TYPING_MAX_MEMBERS = env_int("TYPING_MAX_MEMBERS", 200)
PRESENCE_MAX_MEMBERS = env_int("PRESENCE_MAX_MEMBERS", 100)
PRESENCE_OFFLINE_GRACE_SECONDS = env_float("PRESENCE_OFFLINE_GRACE_SECONDS", 10.0)
# Devices (API.md §7.2) unseen this long are forgotten with their positions.
DEVICE_FORGET_DAYS = env_float("DEVICE_FORGET_DAYS", 90.0)

# --- The life of a message (API.md §8) --------------------------------------------------
# How long after sending its sender may edit a message, and delete it for everyone (0: no
# limit). The owner and admins delete the messages of those they outrank at any time.
MESSAGE_EDIT_WINDOW_SECONDS = env_int("MESSAGE_EDIT_WINDOW_SECONDS", 24 * 3600)
MESSAGE_DELETE_WINDOW_SECONDS = env_int("MESSAGE_DELETE_WINDOW_SECONDS", 24 * 3600)
if MESSAGE_EDIT_WINDOW_SECONDS < 0 or MESSAGE_DELETE_WINDOW_SECONDS < 0:
    raise ImproperlyConfigured("MESSAGE_EDIT_WINDOW_SECONDS and MESSAGE_DELETE_WINDOW_SECONDS must be 0 or more")
# PostgreSQL's text search configuration of message search: "simple" (no stemming, no stop
# words: right for any language) or a language's, e.g. "english". After changing it, run
# `manage.py search_reindex` so that stored messages are found the same way.
MESSAGE_SEARCH_CONFIG = env_str("MESSAGE_SEARCH_CONFIG", "simple")
if not MESSAGE_SEARCH_CONFIG.replace("_", "").isalnum():
    raise ImproperlyConfigured(
        f"MESSAGE_SEARCH_CONFIG must be a text search configuration name, got {MESSAGE_SEARCH_CONFIG!r}"
    )
