"""Settings shared by every environment. dev.py, test.py and prod.py finish them."""

from datetime import timedelta
from pathlib import Path

import environ

from api.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

DATA_DIR = Path(env("EMPORIUM_DATA_DIR", default=str(BASE_DIR / ".data")))
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
]

MIDDLEWARE = [
    "api.metrics.MetricsMiddleware",
    "api.middleware.RequestContextMiddleware",
    "api.startup.StartupGateMiddleware",
    "api.db_router.RoutingScopeMiddleware",
    "api.middleware.JsonErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# 503 `starting` until the database is migrated (api/startup.py).
STARTUP_GATE = True

ROOT_URLCONF = "api.urls"
WSGI_APPLICATION = "api.wsgi.application"
ASGI_APPLICATION = "api.asgi.application"
AUTH_USER_MODEL = "core.User"
# The admin is the only sign-in page; Unfold's login form carries no hidden `next` field, so a
# sign-in at /admin/login/ opened directly lands here instead of Django's /accounts/profile/.
LOGIN_REDIRECT_URL = "admin:index"
LOGIN_URL = "admin:login"
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

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(DATA_DIR / "media")))

# Request bodies above this are refused with 413 (image uploads raise their own limit).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGGING = logging_config(level=env("LOG_LEVEL", default="INFO"))

DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", default="USD")

DEMO_STAFF_EMAIL = "staff@emporium.test"
DEMO_STAFF_PASSWORD = env("DEMO_STAFF_PASSWORD", default="emporium-staff-demo")
DEMO_CUSTOMER_EMAIL = "customer@emporium.test"
DEMO_CUSTOMER_PASSWORD = env("DEMO_CUSTOMER_PASSWORD", default="emporium-customer-demo")

UNFOLD = {
    "SITE_TITLE": "Emporium admin",
    "SITE_HEADER": "Emporium",
    "SITE_SUBHEADER": "Merchant console",
    "SITE_SYMBOL": "storefront",
    # Without an icon link every browser asks for /favicon.ico, a 404 in the console.
    "SITE_FAVICONS": [
        {
            "rel": "icon",
            "type": "image/svg+xml",
            "href": "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' "
            "viewBox='0 0 32 32'><rect width='32' height='32' rx='8' fill='%23e7000b'/></svg>",
        }
    ],
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "COLORS": {
        "primary": {
            "50": "oklch(97.1% .013 17.38)",
            "100": "oklch(93.6% .032 17.717)",
            "200": "oklch(88.5% .062 18.334)",
            "300": "oklch(80.8% .114 19.571)",
            "400": "oklch(70.4% .191 22.216)",
            "500": "oklch(63.7% .237 25.331)",
            "600": "oklch(57.7% .245 27.325)",
            "700": "oklch(50.5% .213 27.518)",
            "800": "oklch(44.4% .177 26.899)",
            "900": "oklch(39.6% .141 25.723)",
            "950": "oklch(25.8% .092 26.042)",
        }
    },
}

NINJA_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
}

CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Emporium <shop@emporium.test>")
# Task log lines go through LOGGING (JSON) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Default periodic tasks, installed into django-celery-beat (editable in the admin) by the workers
# issue's installer. Each issue adds its own: {"name": {"task": "task.name", "crontab": {"minute":
# "0", "hour": "3"}}} or {"name": {"task": "task.name", "every_seconds": 300}}, optional "kwargs".
DEFAULT_BEAT_SCHEDULES: dict[str, dict] = {}

from .auth import *  # noqa: E402, F403
from .catalog import *  # noqa: E402, F403
from .celery import *  # noqa: E402, F403
from .database import *  # noqa: E402, F403
from .observability import *  # noqa: E402, F403
from .orders import *  # noqa: E402, F403
from .payments import *  # noqa: E402, F403
from .search import *  # noqa: E402, F403
from .storage import *  # noqa: E402, F403
