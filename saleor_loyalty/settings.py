"""Django settings, all from the environment (django-environ).

Defaults make a first run work with nothing installed but Python (`make run` sets DEBUG=true): an SQLite file
and eager Celery tasks. Without DEBUG the app refuses to start until SECRET_KEY, FIELD_ENCRYPTION_KEYS and
ALLOWED_SALEOR_URLS are set (docs/security.md); production also sets DATABASE_URL (PostgreSQL),
CELERY_BROKER_URL (Redis) and APP_URL. The ledger's guarantees (row locks, constraints, triggers) are only fully
enforced on PostgreSQL.
"""

from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from saleor_loyalty.schedule import beat_schedule

BASE_DIR = Path(__file__).resolve().parent
env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-0123456789"  # noqa: S105 - refused without DEBUG
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET)
# Fernet keys (urlsafe base64, 32 bytes) that encrypt Saleor app tokens at rest; the first encrypts, all decrypt,
# so keys can be rotated. Unset: a key derived from SECRET_KEY, accepted under DEBUG only.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

APP_URL = env.str("APP_URL", default="http://127.0.0.1:8000").rstrip("/")
# The Saleor stores this deployment serves (installs/allowlist.py): exact API URLs, `https://*.example.com/graphql/`
# patterns, or `*` for any public store. Required in production; empty = any store only under DEBUG.
ALLOWED_SALEOR_URLS = env.list("ALLOWED_SALEOR_URLS", default=[])
# Private networks (CIDRs) the app may call Saleor on, e.g. a self-hosted Saleor at 10.0.0.0/8 or an egress
# proxy (saleor/network.py). Loopback is allowed under DEBUG only; link-local and other private ranges never.
SALEOR_ALLOWED_NETWORKS = env.list("SALEOR_ALLOWED_NETWORKS", default=[])
# /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>` when set (scrape from a private network).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
SALEOR_REQUEST_TIMEOUT = env.float("SALEOR_REQUEST_TIMEOUT", default=10.0)
# If the storefront asks Saleor for tokens with an audience, shopper tokens must carry "custom:<audience>".
SHOPPER_TOKEN_AUDIENCE = env.str("SHOPPER_TOKEN_AUDIENCE", default="")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])

# Stripe (saleor_loyalty/payments, docs/stripe.md). Each store connects its own account; these are the app's side.
# STRIPE_API_BASE: Stripe's API, or a fake of it in tests (https only without DEBUG: the store's secret key goes there).
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com").rstrip("/")
STRIPE_CONNECT_TIMEOUT = env.float("STRIPE_CONNECT_TIMEOUT", default=5.0)
STRIPE_READ_TIMEOUT = env.float("STRIPE_READ_TIMEOUT", default=30.0)
# The library's own retries stay off: a call whose outcome is unknown is retried by our callers with the same
# idempotency key (payments/refunds.py), never blindly.
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=0)
# Stripe's webhook bodies are a few kB; a bigger one is refused (413) before it is read.
STRIPE_WEBHOOK_MAX_BODY_BYTES = env.int("STRIPE_WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)


def production_problems() -> list[str]:
    """What a deployment without DEBUG must set before it may start (docs/security.md)."""
    problems = []
    if SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 32:
        problems.append("SECRET_KEY: set a random secret of at least 32 characters (the default is public)")
    if not FIELD_ENCRYPTION_KEYS:
        problems.append(
            "FIELD_ENCRYPTION_KEYS: set one or more Fernet keys that encrypt store tokens at rest, e.g. from "
            '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
        )
    else:
        for position, key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
            try:
                Fernet(key.encode())
            except ValueError:
                problems.append(f"FIELD_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe base64 bytes)")
    if not [url for url in ALLOWED_SALEOR_URLS if url.strip()]:
        problems.append("ALLOWED_SALEOR_URLS: list the Saleor API URLs this app serves (or `*` for any public store)")
    if not STRIPE_API_BASE.startswith("https://"):
        problems.append("STRIPE_API_BASE: must be an https:// address (stores' Stripe secret keys are sent there)")
    return problems


if not DEBUG and (_problems := production_problems()):
    raise ImproperlyConfigured(
        "Refusing to start without DEBUG until these are set (DEBUG=true is for development only):\n  - "
        + "\n  - ".join(_problems)
    )

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "saleor_loyalty.core",
    "saleor_loyalty.installs",
    "saleor_loyalty.saleor",
    "saleor_loyalty.payments",
    "saleor_loyalty.members",
    "saleor_loyalty.ledger",
    "saleor_loyalty.program",
    "saleor_loyalty.redemption",
    "saleor_loyalty.tiers",
    "saleor_loyalty.referrals",
    "saleor_loyalty.notifications",
    "saleor_loyalty.rebates",
    "saleor_loyalty.memberships",
    "saleor_loyalty.webhooks",
    "saleor_loyalty.api",
]
MIGRATION_MODULES = {
    "installs": "saleor_loyalty.migrations.installs",
    "payments": "saleor_loyalty.migrations.payments",
    "members": "saleor_loyalty.migrations.members",
    "ledger": "saleor_loyalty.migrations.ledger",
    "program": "saleor_loyalty.migrations.program",
    "redemption": "saleor_loyalty.migrations.redemption",
    "tiers": "saleor_loyalty.migrations.tiers",
    "referrals": "saleor_loyalty.migrations.referrals",
    "notifications": "saleor_loyalty.migrations.notifications",
    "rebates": "saleor_loyalty.migrations.rebates",
    "memberships": "saleor_loyalty.migrations.memberships",
    "webhooks": "saleor_loyalty.migrations.webhooks",
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "saleor_loyalty.core.logging.RequestContextMiddleware",
]
ROOT_URLCONF = "saleor_loyalty.urls"
WSGI_APPLICATION = "saleor_loyalty.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{Path.cwd() / 'var' / 'saleor_loyalty.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Webhook ingest's INSERT and ledger postings are server-side prepared statements on PostgreSQL (core/db.py);
# turn off behind a pooler that cannot keep prepared statements (PgBouncer < 1.21 in transaction mode).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
if DATABASE_PREPARED_STATEMENTS and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Django leaves psycopg's prepare_threshold at None, which disables preparing altogether. Its own queries go
    # through client-side binding cursors, which never prepare, so this only enables ours (core/db.py).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("WEBHOOK_MAX_BODY_BYTES", default=2 * 1024 * 1024)

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = beat_schedule()  # the periodic jobs: saleor_loyalty/schedule.py

# Processed webhook deliveries are kept this many days (0 = forever), then pruned nightly.
INBOX_RETENTION_DAYS = env.int("INBOX_RETENTION_DAYS", default=30)

# Loyalty program defaults for a new install (each install can change its own settings).
LOYALTY_DEFAULT_RETURN_WINDOW_DAYS = env.int("LOYALTY_DEFAULT_RETURN_WINDOW_DAYS", default=14)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "saleor_loyalty.core.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Shopper emails (saleor_loyalty.notifications, docs/notifications.md). EMAIL_URL: e.g.
# smtp+tls://user:password@smtp.example.com:587; the default prints emails to the console. Tests use locmem.
# Without EMAIL_URL, emails are printed (DEBUG) or only logged with the address masked: never a shopper's full
# email in a production log.
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
if "EMAIL_URL" not in env and not DEBUG:
    EMAIL_BACKEND = "saleor_loyalty.core.email.MaskedLogBackend"
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="loyalty@localhost")
# Directories searched before the built-in templates: loyalty/emails/<kind>.subject.txt, .txt, .html overrides.
LOYALTY_EMAIL_TEMPLATE_DIRS = env.list("LOYALTY_EMAIL_TEMPLATE_DIRS", default=[])

# recordEvent (docs/program.md): how far in the past a reported occurredAt may lie. Older events are refused; caps
# count events by when the app received them, whatever occurredAt says.
LOYALTY_EVENT_MAX_AGE_HOURS = env.int("LOYALTY_EVENT_MAX_AGE_HOURS", default=24)

# Storefront GraphQL API limits (saleor_loyalty/api/limits.py, issue #8): a request over one is refused with HTTP 400
# (413 for the body) before anything runs. Introspection (__schema, __type) is off unless DEBUG or this is true.
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=False)
GRAPHQL_MAX_BODY_BYTES = env.int("GRAPHQL_MAX_BODY_BYTES", default=50_000)
GRAPHQL_MAX_QUERY_CHARS = env.int("GRAPHQL_MAX_QUERY_CHARS", default=10_000)
GRAPHQL_MAX_TOKENS = env.int("GRAPHQL_MAX_TOKENS", default=2_000)
GRAPHQL_MAX_DEPTH = env.int("GRAPHQL_MAX_DEPTH", default=10)
GRAPHQL_MAX_ALIASES = env.int("GRAPHQL_MAX_ALIASES", default=15)
GRAPHQL_MAX_ROOT_FIELDS = env.int("GRAPHQL_MAX_ROOT_FIELDS", default=10)
GRAPHQL_MAX_FIELDS = env.int("GRAPHQL_MAX_FIELDS", default=300)  # counted with fragments expanded
GRAPHQL_MAX_COST = env.int("GRAPHQL_MAX_COST", default=2_000)  # 1 per field, times the page sizes above it
# Calls to Saleor one GraphQL request may make (a redemption replacing an earlier one makes up to 7).
GRAPHQL_MAX_SALEOR_CALLS = env.int("GRAPHQL_MAX_SALEOR_CALLS", default=8)
