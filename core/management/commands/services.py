"""Which database, cache and broker this configuration uses, and whether each answers."""

import json
import re

from django.conf import settings
from django.core.management.base import BaseCommand

from api.health import run_checks


def _mask(url: str | None) -> str | None:
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url) if url else url


class Command(BaseCommand):
    help = "Print the resolved services (embedded or configured) and check each one."

    def handle(self, *args, **options):
        services = settings.SERVICES
        report = {
            "embedded": list(services.embedded),
            "database": _mask(services.database_url),
            "replica": _mask(services.replica_url),
            "cache": _mask(services.redis_url),
            "broker": _mask(services.broker_url),
            "search": settings.SEARCH_BACKEND,
            "checks": {name: check.model_dump() for name, check in run_checks().items()},
        }
        self.stdout.write(json.dumps(report, indent=2))
