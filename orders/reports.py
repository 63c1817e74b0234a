"""Sales figures per day: the staff report (JSON / CSV), the SalesReport rows, the dashboard.

Revenue counts orders placed that day whose money came in (paid, shipped, delivered, or refunded,
net of refunds); cancelled orders count nowhere. Revenue before promotions adds back what the
promotions (catalog and cart, from each order's discount snapshot, promotions.OrderDiscount) took
off those orders: what the same sales would have brought at regular prices; coupons are not
promotions and stay deducted. Days are calendar days in TIME_ZONE. Every figure comes from three
aggregate queries whatever the range.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from api.errors import InvalidInput
from api.money import quantize
from orders.models import PAID_STATUSES, Order, OrderLine, OrderStatus, SalesReport
from products.models import Product
from products.services import products_changed_on_commit
from promotions.models import DiscountSource, OrderDiscount

ZERO = Decimal("0.00")
MAX_DAYS = 366
TOP_PRODUCTS = 10


def _start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _placed_between(date_from: date, date_to: date) -> Q:
    return Q(placed_at__gte=_start(date_from), placed_at__lt=_start(date_to + timedelta(days=1)))


def _empty_day(day: date) -> dict[str, Any]:
    return {
        "date": day,
        "orders": 0,
        "paid_orders": 0,
        "revenue": ZERO,
        "promotion_discount": ZERO,
        "revenue_before_promotions": ZERO,
        "orders_with_promotions": 0,
        "units": 0,
        "average_order_value": ZERO,
    }


def _aov(revenue: Decimal, paid: int) -> Decimal:
    return quantize(revenue / paid) if paid else ZERO


def sales_by_day(date_from: date, date_to: date) -> list[dict[str, Any]]:
    """One dict per day of the range (empty days included): two queries."""
    tz = timezone.get_current_timezone()
    paid = Q(status__in=PAID_STATUSES)
    # Each order's promotion discounts, summed in the same statement (a correlated subquery).
    promotion_rows = OrderDiscount.objects.filter(
        order=OuterRef("pk"), source__in=[DiscountSource.CATALOG, DiscountSource.CART]
    )
    promoted = Subquery(
        promotion_rows.values("order").annotate(total=Sum("amount")).values("total")
    )
    rows = (
        Order.objects.filter(_placed_between(date_from, date_to))
        .exclude(status=OrderStatus.CANCELLED)
        .annotate(day=TruncDate("placed_at", tzinfo=tz))
        .values("day")
        .annotate(
            orders=Count("id"),
            paid_orders=Count("id", filter=paid),
            revenue=Sum(F("grand_total") - F("refunded_total"), filter=paid),
            promotion_discount=Sum(Coalesce(promoted, ZERO), filter=paid),
            orders_with_promotions=Count("id", filter=paid & Q(Exists(promotion_rows))),
        )
    )
    units = (
        OrderLine.objects.filter(order__status__in=PAID_STATUSES)
        .filter(
            order__placed_at__gte=_start(date_from),
            order__placed_at__lt=_start(date_to + timedelta(days=1)),
        )
        .annotate(day=TruncDate("order__placed_at", tzinfo=tz))
        .values("day")
        .annotate(units=Sum("quantity"))
    )
    units_by_day = {row["day"]: row["units"] or 0 for row in units}
    days = {}
    for row in rows:
        revenue = quantize(row["revenue"] or ZERO)
        promotions = quantize(row["promotion_discount"] or ZERO)
        days[row["day"]] = {
            "date": row["day"],
            "orders": row["orders"],
            "paid_orders": row["paid_orders"],
            "revenue": revenue,
            "promotion_discount": promotions,
            "revenue_before_promotions": revenue + promotions,
            "orders_with_promotions": row["orders_with_promotions"],
            "units": units_by_day.get(row["day"], 0),
            "average_order_value": _aov(revenue, row["paid_orders"]),
        }
    out, day = [], date_from
    while day <= date_to:
        out.append(days.get(day) or _empty_day(day))
        day += timedelta(days=1)
    return out


def top_products(date_from: date, date_to: date, limit: int = TOP_PRODUCTS) -> list[dict]:
    rows = (
        OrderLine.objects.filter(order__status__in=PAID_STATUSES)
        .filter(
            order__placed_at__gte=_start(date_from),
            order__placed_at__lt=_start(date_to + timedelta(days=1)),
        )
        .values("product_id")
        .annotate(
            product_name=Max("product_name"), units=Sum("quantity"), revenue=Sum("line_total")
        )
        .order_by("-units", "-revenue", "product_id")[:limit]
    )
    return [
        {
            "product_id": row["product_id"],
            "product_name": row["product_name"],
            "units": row["units"],
            "revenue": quantize(row["revenue"]),
        }
        for row in rows
    ]


def _check_range(date_from: date, date_to: date) -> None:
    problem = None
    if date_to < date_from:
        problem = "`to` is before `from`."
    elif (date_to - date_from).days >= MAX_DAYS:
        problem = f"At most {MAX_DAYS} days at a time."
    if problem:
        raise InvalidInput.for_field(
            "to", problem, kind="range", code="invalid_date_range", source="query"
        )


def sales_report(*, date_from: date, date_to: date) -> dict[str, Any]:
    """SalesReportOut for staff: days, totals over the range and its best sellers."""
    _check_range(date_from, date_to)
    days = sales_by_day(date_from, date_to)
    revenue = sum((d["revenue"] for d in days), ZERO)
    paid = sum(d["paid_orders"] for d in days)
    return {
        "date_from": date_from,
        "date_to": date_to,
        "currency": settings.DEFAULT_CURRENCY,
        "totals": {
            "orders": sum(d["orders"] for d in days),
            "paid_orders": paid,
            "revenue": revenue,
            "promotion_discount": sum((d["promotion_discount"] for d in days), ZERO),
            "revenue_before_promotions": sum((d["revenue_before_promotions"] for d in days), ZERO),
            "orders_with_promotions": sum(d["orders_with_promotions"] for d in days),
            "units": sum(d["units"] for d in days),
            "average_order_value": _aov(revenue, paid),
        },
        "days": days,
        "top_products": top_products(date_from, date_to),
    }


CSV_COLUMNS = (
    "date",
    "orders",
    "paid_orders",
    "revenue",
    "promotion_discount",
    "revenue_before_promotions",
    "orders_with_promotions",
    "units",
    "average_order_value",
)


def sales_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, "currency"])
    for day in report["days"]:
        writer.writerow([*(day[c] for c in CSV_COLUMNS), report["currency"]])
    totals = report["totals"]
    writer.writerow(["total", *(totals[c] for c in CSV_COLUMNS[1:]), report["currency"]])
    return out.getvalue()


def sales_reports_write(*, day: str | date | None = None, days: int = 1) -> list[SalesReport]:
    """Write (or rewrite) the SalesReport rows of `day`, or of the `days` days up to yesterday."""
    if day is not None:
        last = date.fromisoformat(day) if isinstance(day, str) else day
        first = last
    else:
        last = timezone.localdate() - timedelta(days=1)
        first = last - timedelta(days=max(1, days) - 1)
    written = []
    with transaction.atomic():
        for figures in sales_by_day(first, last):
            report, _ = SalesReport.objects.update_or_create(
                date=figures["date"],
                defaults={
                    "currency": settings.DEFAULT_CURRENCY,
                    "orders": figures["orders"],
                    "paid_orders": figures["paid_orders"],
                    "revenue": figures["revenue"],
                    "units": figures["units"],
                    "average_order_value": figures["average_order_value"],
                    "top_products": [
                        {**p, "revenue": str(p["revenue"])}
                        for p in top_products(figures["date"], figures["date"])
                    ],
                    "generated_at": timezone.now(),
                },
            )
            written.append(report)
    return written


_SALES_COUNT_SQL = f"""
WITH sold AS (
    SELECT l.product_id,
           coalesce(sum(l.quantity) FILTER (WHERE o.status = ANY(%s)), 0) AS units
    FROM {OrderLine._meta.db_table} l
    JOIN {Order._meta.db_table} o ON o.id = l.order_id
    WHERE l.product_id IS NOT NULL
    GROUP BY l.product_id
)
UPDATE {Product._meta.db_table} p SET sales_count = sold.units
FROM sold
WHERE p.id = sold.product_id AND p.sales_count <> sold.units
RETURNING p.id
"""  # noqa: S608 - table names from the models, values bound


def product_sales_counts_refresh() -> list[int]:
    """Product.sales_count (the `popularity` sort) = units in paid orders, for every product that
    was ever ordered; the products whose count moved are announced (caches, search)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_SALES_COUNT_SQL, [list(PAID_STATUSES)])
            changed = [row[0] for row in cursor.fetchall()]
        products_changed_on_commit(changed)
    return changed
