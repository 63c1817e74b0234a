"""Rebuild the whole search index in bulk, with a progress bar; --resume carries on."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from search.backends import get_backend
from search.documents import searchable_product_count
from search.models import ReindexCheckpoint


class Command(BaseCommand):
    help = (
        "Rebuild the search index from the catalog, in batches in product id order, without "
        "taking search down. --resume carries on an interrupted run from its checkpoint."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--resume", action="store_true", help="Carry on from the last checkpoint."
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        if not 1 <= options["batch_size"] <= 10_000:
            raise CommandError("--batch-size must be between 1 and 10000")
        backend = get_backend()
        backend.setup()
        total = searchable_product_count()
        initial = 0
        if options["resume"]:
            checkpoint = ReindexCheckpoint.objects.filter(backend=backend.name).first()
            if checkpoint and checkpoint.status == ReindexCheckpoint.Status.RUNNING:
                initial = checkpoint.processed
                self.stdout.write(
                    f"resuming after product {checkpoint.last_product_id} "
                    f"({checkpoint.processed} done)"
                )
        bar = tqdm(
            total=total,
            initial=min(initial, total),
            unit="product",
            desc=f"reindex {backend.name}",
            disable=options["no_progress"],
        )
        try:
            report = backend.reindex(
                batch_size=options["batch_size"], resume=options["resume"], progress=bar.update
            )
        finally:
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(f"indexed {report.indexed} products, removed {report.removed}")
        )
