from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from products.csv_io import MODES, import_csv


class Command(BaseCommand):
    help = (
        "Import products and variants from CSV (the export's format). --dry-run reports and "
        "changes nothing; --mode atomic (default) applies all rows or none, --mode valid "
        "applies the valid rows and reports the others."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file (UTF-8).")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--mode", choices=MODES, default="atomic")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        with path.open(newline="", encoding="utf-8-sig") as source:
            report = import_csv(
                source,
                dry_run=options["dry_run"],
                mode=options["mode"],
                reference=f"import {path.name}",
                progress=not options["no_progress"],
            )
        for error in report.errors:
            self.stderr.write(str(error))
        summary = report.summary()
        if report.errors and not report.applied:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary) if not report.errors else summary)
