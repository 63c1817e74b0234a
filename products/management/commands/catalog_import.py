import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from api.errors import InvalidInput
from api.uploads import text_decode
from products.csv_io import MODES, STOCK_MODES, import_csv
from products.imports import CSV_INVALID


class Command(BaseCommand):
    help = (
        "Import products and variants from CSV (the export's format), in the foreground with a "
        "progress bar. --dry-run reports and changes nothing; --mode atomic (default) checks "
        "every row first and applies only a file without errors, --mode valid applies the "
        "valid rows and reports the others. --stock ignore (default) leaves stock alone; set "
        "makes stock_quantity the level, delta adds it (through the stock ledger)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file (UTF-8).")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--mode", choices=MODES, default="atomic")
        parser.add_argument("--stock", choices=STOCK_MODES, default="ignore")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            text = text_decode(path.read_bytes(), code=CSV_INVALID)
        except InvalidInput as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        with io.StringIO(text, newline="") as source:
            report = import_csv(
                source,
                dry_run=options["dry_run"],
                mode=options["mode"],
                stock=options["stock"],
                reference=f"import {path.name}",
                progress=not options["no_progress"],
            )
        for error in report.errors:
            self.stderr.write(str(error))
        summary = report.summary()
        if report.errors and not report.applied:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary) if not report.errors else summary)
