import sys

from django.core.management.base import BaseCommand

from products.csv_io import export_csv


class Command(BaseCommand):
    help = "Export every product with its variants to CSV (one row per variant)."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", default="-", help="File to write; - for stdout.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        path = options["output"]
        progress = not options["no_progress"]
        if path == "-":
            rows = export_csv(sys.stdout, progress=progress)
        else:
            with open(path, "w", newline="", encoding="utf-8") as out:
                rows = export_csv(out, progress=progress)
        self.stderr.write(f"exported {rows} variant rows")
