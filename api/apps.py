from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The project package is also the app holding what every app shares (idempotency keys)."""

    name = "api"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"
