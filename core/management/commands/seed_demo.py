from django.conf import settings
from django.core.management.base import BaseCommand

from core.seed import demo_users_ensure


class Command(BaseCommand):
    help = "Seed demo data: a staff login and a customer (the catalog issue adds the catalog)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed, for repeatable data."
        )

    def handle(self, *args, **options):
        demo_users_ensure()
        self.stdout.write(
            self.style.SUCCESS(
                f"demo staff {settings.DEMO_STAFF_EMAIL} / {settings.DEMO_STAFF_PASSWORD}; "
                f"demo customer {settings.DEMO_CUSTOMER_EMAIL} / {settings.DEMO_CUSTOMER_PASSWORD}"
            )
        )
