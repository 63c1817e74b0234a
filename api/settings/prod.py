"""Production: every service and secret comes from the environment; nothing is embedded."""

from api import runtime

from .base import *  # noqa: F403
from .env import DATA_DIR, env
from .services import caches, databases

DEBUG = False
SECRET_KEY = env("SECRET_KEY")  # no default: refuse to start without it
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SERVICES = runtime.resolve(env.ENVIRON, data_dir=DATA_DIR / "prod", allow_embedded=False)
DATABASES = databases(SERVICES, conn_max_age=env.int("CONN_MAX_AGE", default=60))
CACHES = caches(SERVICES)
CELERY_BROKER_URL = SERVICES.broker_url
CELERY_RESULT_BACKEND = SERVICES.result_backend_url

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^api/health/"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://localhost:25")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL")
