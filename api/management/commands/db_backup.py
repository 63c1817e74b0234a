from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from api import backup


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump, custom format) and the local media folder into one tar "
        "file: BACKUP_DIR/emporium-<UTC time>.tar unless --output is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", type=Path, help="The archive to write.")
        parser.add_argument("--no-media", action="store_true", help="The database only.")
        parser.add_argument("--database-url", help="Back up this database instead of DATABASE_URL.")

    def handle(self, *args, **options):
        output = options["output"] or backup.default_path()
        try:
            target = (
                backup.Target.from_url(options["database_url"]) if options["database_url"] else None
            )
            backup.backup(
                output, target=target, media=not options["no_media"], progress=self.stderr.write
            )
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(str(output))
