# Refunds name lines and quantities: each line keeps its refunded units, the order its refunded
# shipping. Orders refunded in full before this get everything marked refunded (what a full
# refund records now); partial refunds before it named no lines, so they stay money-only.

from decimal import Decimal

from django.db import migrations, models
from django.db.models import F


def mark_refunded_orders(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    refunded = Order.objects.filter(status="refunded")
    OrderLine.objects.filter(order__in=refunded).update(quantity_refunded=F("quantity"))
    refunded.update(shipping_refunded=F("shipping_total"))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_order_client_ip"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="shipping_refunded",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=12),
        ),
        migrations.AddField(
            model_name="orderline",
            name="quantity_refunded",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("shipping_refunded__gte", 0),
                    ("shipping_refunded__lte", models.F("shipping_total")),
                ),
                name="order_shipping_refunded_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="orderline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("quantity_refunded__gte", 0), ("quantity_refunded__lte", models.F("quantity"))
                ),
                name="order_line_refunded_lte_quantity",
            ),
        ),
        # Last: no ALTER TABLE after rows changed in the same transaction.
        migrations.RunPython(mark_refunded_orders, migrations.RunPython.noop),
    ]
