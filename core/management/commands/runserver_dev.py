"""runserver with Django's autoreloader, and --print-sql to print each request's queries."""

import os

from django.conf import settings

# staticfiles' runserver serves /static/ (Swagger UI, ReDoc and Unfold assets) in development.
from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand


class Command(RunserverCommand):
    help = "Development server with hot reload; --print-sql prints every query with its time."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--print-sql",
            action="store_true",
            help="Print every SQL query of each request, with its time.",
        )

    def handle(self, *args, **options):
        if options["print_sql"]:
            # Read by settings in the reloaded child process that serves requests.
            os.environ["EMPORIUM_PRINT_SQL"] = "1"
            settings.PRINT_SQL = True  # this process too, when it serves (--noreload)
        super().handle(*args, **options)
