"""Settings shared by every environment: Django's core settings, and the settings composed from
the topic modules' pieces. dev.py, test.py and prod.py finish them.

Each topic module (admin, auth, catalog, celery, cms, cors, database, observability, orders,
payments, promotions, ratelimit, retention, search, storage, webhooks) imports only the `env`
leaf and declares its own names, so the star imports below may come in any order. Where several
topics contribute to one setting, each declares its piece under its own name (ORDERS_RATE_LIMITS,
ORDERS_BEAT_SCHEDULES, ...) and this module merges them; no topic module touches another's dicts.
"""

from datetime import timedelta

from api.logging import logging_config

from .admin import *  # noqa: F403
from .auth import *  # noqa: F403
from .catalog import *  # noqa: F403
from .celery import *  # noqa: F403
from .cms import *  # noqa: F403
from .cors import *  # noqa: F403
from .database import *  # noqa: F403
from .env import BASE_DIR, DATA_DIR, env  # noqa: F401 (BASE_DIR and DATA_DIR are settings)
from .observability import *  # noqa: F403
from .orders import *  # noqa: F403
from .payments import *  # noqa: F403
from .promotions import *  # noqa: F403
from .ratelimit import *  # noqa: F403
from .retention import *  # noqa: F403
from .search import *  # noqa: F403
from .storage import *  # noqa: F403
from .webhooks import *  # noqa: F403

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "ninja",  # serves Swagger UI and ReDoc assets itself: no CDN
    "ninja_extra",
    "django_celery_beat",
    "ninja_jwt",
    "ninja_jwt.token_blacklist",
    "api",
    "core",
    "products",
    "cart",
    "orders",
    "payments",
    "search",
    "webhooks",
    "cms",
    "promotions",
]

MIDDLEWARE = [
    "api.metrics.MetricsMiddleware",
    "api.middleware.RequestContextMiddleware",
    # Answers a browser's preflight before the gate and the limiter (never a 503 or a 429, never
    # counted) and marks every /api/ answer, their 503s and 429s included, readable by it.
    "corsheaders.middleware.CorsMiddleware",
    "api.startup.StartupGateMiddleware",
    "api.db_router.RoutingScopeMiddleware",
    "api.middleware.JsonErrorMiddleware",
    # Before the session and CSRF middleware: a limited request is refused before any other work.
    "api.ratelimit.RateLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Last before the URL resolver: a fresh cached read is answered here (CACHED_READS).
    "api.cached_reads.CachedReadMiddleware",
    # ADMIN_MIDDLEWARE, around /admin/ only: the API needs no session, CSRF token or messages.
    "api.middleware.AdminMiddleware",
]
# The routes api.cached_reads.CachedReadMiddleware may answer, by topic.
CACHED_READS = [*CATALOG_CACHED_READS]  # noqa: F405
ADMIN_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# The admin's checks look for its session, authentication and messages middleware in MIDDLEWARE;
# they run in ADMIN_MIDDLEWARE (api/tests/test_middleware_stack.py checks they are there).
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

# 503 `starting` until the database is migrated (api/startup.py).
STARTUP_GATE = True

ROOT_URLCONF = "api.urls"
WSGI_APPLICATION = "api.wsgi.application"
ASGI_APPLICATION = "api.asgi.application"
AUTH_USER_MODEL = "core.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
            ]
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
CELERY_TIMEZONE = TIME_ZONE

# Request bodies above this are refused with 413 (image uploads raise their own limit).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGGING = logging_config(level=env("LOG_LEVEL", default="INFO"))
LOGGING_CONFIG = "api.logging.configure"

DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", default="USD")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Emporium <shop@emporium.test>")

DEMO_STAFF_EMAIL = "staff@emporium.test"
DEMO_STAFF_PASSWORD = env("DEMO_STAFF_PASSWORD", default="emporium-staff-demo")
DEMO_CUSTOMER_EMAIL = "customer@emporium.test"
DEMO_CUSTOMER_PASSWORD = env("DEMO_CUSTOMER_PASSWORD", default="emporium-customer-demo")

NINJA_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
}

# -- composed from the topics' pieces -------------------------------------------------------------
# The general limit on every /api/ route, per route group (api/settings/ratelimit.py explains the
# shape). The environment comes last: RATE_LIMITS='{"search": {"ip": "60/min"}}' replaces a
# group's limit without a deploy.
RATE_LIMITS: dict[str, dict[str, str] | None] = {
    **API_RATE_LIMITS,  # noqa: F405
    **AUTH_RATE_LIMITS,  # noqa: F405
    **ORDERS_RATE_LIMITS,  # noqa: F405
    **PAYMENTS_RATE_LIMITS,  # noqa: F405
    **SEARCH_RATE_LIMITS,  # noqa: F405
    **env.json("RATE_LIMITS", default={}),
}

# Default periodic tasks, installed into django-celery-beat (editable in the admin) by api/beat.py:
# {"name": {"task": "task.name", "crontab": {"minute": "0", "hour": "3"}}} or {"name": {"task":
# "task.name", "every_seconds": 300}}, optional "args", "kwargs", "queue", "description".
DEFAULT_BEAT_SCHEDULES: dict[str, dict] = {
    **AUTH_BEAT_SCHEDULES,  # noqa: F405
    **ORDERS_BEAT_SCHEDULES,  # noqa: F405
    **PAYMENTS_BEAT_SCHEDULES,  # noqa: F405
    **PROMOTIONS_BEAT_SCHEDULES,  # noqa: F405
    **RETENTION_BEAT_SCHEDULES,  # noqa: F405
    **SEARCH_BEAT_SCHEDULES,  # noqa: F405
    **TASKS_BEAT_SCHEDULES,  # noqa: F405
    **WEBHOOKS_BEAT_SCHEDULES,  # noqa: F405
}

# name -> class implementing payments.providers.base.PaymentProvider; Stripe's entry only when
# both of its secrets are set (api/settings/payments.py).
PAYMENT_PROVIDERS = {**BUILTIN_PAYMENT_PROVIDERS, **STRIPE_PAYMENT_PROVIDERS}  # noqa: F405
