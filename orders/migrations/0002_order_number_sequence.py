from django.db import migrations

from orders.models import NUMBER_SEQUENCE


class Migration(migrations.Migration):
    """Order numbers come from a sequence: unique under any concurrency, never max() + 1."""

    dependencies = [("orders", "0001_initial")]

    operations = [
        migrations.RunSQL(
            f"CREATE SEQUENCE IF NOT EXISTS {NUMBER_SEQUENCE} START 1",
            f"DROP SEQUENCE IF EXISTS {NUMBER_SEQUENCE}",
        )
    ]
