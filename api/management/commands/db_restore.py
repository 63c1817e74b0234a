from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from api import backup


class Command(BaseCommand):
    help = (
        "Restore a db_backup archive into an empty database (DATABASE_URL, or --database-url) "
        "and its media into MEDIA_ROOT; checks the restored row counts against the backup's."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument("--no-media", action="store_true", help="The database only.")
        parser.add_argument("--database-url", help="Restore into this database instead.")

    def handle(self, *args, **options):
        try:
            target = (
                backup.Target.from_url(options["database_url"]) if options["database_url"] else None
            )
            manifest = backup.restore(
                options["archive"],
                target=target,
                media=not options["no_media"],
                progress=self.stderr.write,
            )
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"restored the backup of {manifest['created_at']}")
