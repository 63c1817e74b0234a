from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cms.seed import seed_content
from core.seed import demo_users_ensure
from products.seed import seed_catalog
from promotions.seed import seed_promotions
from search.services import search_index_bootstrap


class Command(BaseCommand):
    help = (
        "Seed demo data: a staff login, a customer, a demo catalog and its content (homepage, "
        "menus, footer, pages); each skipped when present, --reset rebuilds them. The same "
        "--seed gives the same catalog."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed, for repeatable data."
        )
        parser.add_argument(
            "--products", type=int, default=300, help="How many products (up to 100,000)."
        )
        parser.add_argument(
            "--variants",
            type=int,
            default=None,
            help="Exactly this many variants per product (default: a natural mix).",
        )
        parser.add_argument("--reset", action="store_true", help="Delete the catalog first.")
        parser.add_argument("--no-reviews", action="store_true")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        if not 0 <= options["products"] <= 100_000:
            raise CommandError("--products must be between 0 and 100000")
        if options["variants"] is not None and not 1 <= options["variants"] <= 16:
            raise CommandError("--variants must be between 1 and 16")
        demo_users_ensure()
        if options["products"]:
            report = seed_catalog(
                products=options["products"],
                seed=options["seed"],
                variants=options["variants"],
                reviews=not options["no_reviews"],
                progress=not options["no_progress"],
                reset=options["reset"],
            )
            self.stdout.write(report.summary())
            # Before the index is built: search indexes the promoted prices.
            self.stdout.write(seed_promotions())
            self.stdout.write(search_index_bootstrap(rebuild=not report.skipped))
        # After the catalog: the menus and the homepage link its categories and products.
        self.stdout.write(seed_content(reset=options["reset"]).summary())
        self.stdout.write(
            self.style.SUCCESS(
                f"demo staff {settings.DEMO_STAFF_EMAIL} / {settings.DEMO_STAFF_PASSWORD}; "
                f"demo customer {settings.DEMO_CUSTOMER_EMAIL} / {settings.DEMO_CUSTOMER_PASSWORD}"
            )
        )
