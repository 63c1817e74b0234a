"""Migrate and seed the demo data: what `python -m core.devserver` runs beside the API."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Apply migrations and seed the demo data (scripts/dev.sh runs this)."

    def add_arguments(self, parser):
        parser.add_argument("--no-seed", action="store_true", help="Only migrate.")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        if not options["no_seed"]:
            call_command("seed_demo", stdout=self.stdout)
