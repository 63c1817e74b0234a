from django.apps import AppConfig
from django.db.models.signals import post_migrate

from api.beat import install_after_migrate


class ApiConfig(AppConfig):
    """The project package is also the app holding what every app shares (idempotency keys)."""

    name = "api"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Default periodic tasks reach django-celery-beat after every migrate.
        post_migrate.connect(install_after_migrate, dispatch_uid="api.beat.install_after_migrate")
