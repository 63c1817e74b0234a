"""Development: embedded services unless configured, DEBUG on, mail on the console, the
storefront's origin allowed to call the API."""

from urllib.parse import urlsplit

from api import runtime

from .base import *  # noqa: F403
from .env import DATA_DIR, env
from .services import caches, databases

DEBUG = env.bool("DEBUG", default=True)

SERVICES = runtime.resolve(env.ENVIRON, data_dir=DATA_DIR / "dev")
DATABASES = databases(SERVICES)
CACHES = caches(SERVICES)
CELERY_BROKER_URL = SERVICES.broker_url
CELERY_RESULT_BACKEND = SERVICES.result_backend_url

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env("EMAIL_URL", default=""):
    # An SMTP server such as docker-compose's Mailpit: EMAIL_HOST, EMAIL_PORT, ... from the URL.
    vars().update(env.email_url("EMAIL_URL"))

PRINT_SQL = env.bool("EMPORIUM_PRINT_SQL", default=False)
MIDDLEWARE = [*MIDDLEWARE, "core.devtools.PrintSqlMiddleware"]  # noqa: F405

# The seeds' storefront runs on its own origin (STOREFRONT_URL) and calls the API from the browser.
if "CORS_ALLOWED_ORIGINS" not in env.ENVIRON:
    _storefront = urlsplit(STOREFRONT_URL)  # noqa: F405
    CORS_ALLOWED_ORIGINS = [f"{_storefront.scheme}://{_storefront.netloc}"]
