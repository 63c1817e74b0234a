"""Create what the search backend needs (indexes, mappings, suggestions); safe to run again."""

from django.conf import settings
from django.core.management.base import BaseCommand

from search.backends import get_backend


class Command(BaseCommand):
    help = "Create the search backend's indexes and mappings (SEARCH_BACKEND); idempotent."

    def handle(self, *args, **options):
        backend = get_backend()
        backend.setup()
        self.stdout.write(f"search backend {backend.name} ready ({settings.SEARCH_BACKEND})")
