"""The admin's start page (UNFOLD["DASHBOARD_CALLBACK"]): revenue and orders per day as a chart,
today's figures, low-stock variants and recent orders. Five queries, whatever the shop's size."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from orders.models import Order
from orders.reports import sales_by_day
from products.selectors import low_stock_variants

CHART_DAYS = 30


def dashboard_data(days: int = CHART_DAYS) -> dict[str, Any]:
    today = timezone.localdate()
    series = sales_by_day(today - timedelta(days=days - 1), today)
    figures = series[-1]
    chart = {
        "labels": [d["date"].strftime("%d %b") for d in series],
        "datasets": [
            {
                "type": "bar",
                "label": f"Revenue ({settings.DEFAULT_CURRENCY})",
                "data": [float(d["revenue"]) for d in series],  # chart scale only, not money
                "yAxisID": "y",
            },
            {
                "type": "line",
                "label": "Orders",
                "data": [d["orders"] for d in series],
                "yAxisID": "y1",
            },
        ],
    }
    options = {
        # Options given replace Unfold's defaults: without this the canvas keeps its width:height
        # attribute ratio and the chart grows as tall as the card is wide, not the 320 px asked.
        "maintainAspectRatio": False,
        "scales": {
            "y": {"position": "left", "beginAtZero": True},
            "y1": {"position": "right", "beginAtZero": True, "grid": {"drawOnChartArea": False}},
        },
    }
    low = list(low_stock_variants()[:10])
    recent = list(Order.objects.order_by("-placed_at", "-id")[:10])
    return {
        "series": series,
        "today": figures,
        "chart": chart,
        "options": options,
        "low": low,
        "recent": recent,
    }


def dashboard_callback(request, context: dict[str, Any]) -> dict[str, Any]:
    data = dashboard_data()
    today = data["today"]
    currency = settings.DEFAULT_CURRENCY
    context.update(
        {
            "dashboard_chart": json.dumps(data["chart"]),
            "dashboard_chart_options": json.dumps(data["options"]),
            "dashboard_kpis": [
                {"title": "Orders today", "value": today["orders"]},
                {"title": "Paid today", "value": today["paid_orders"]},
                {"title": "Revenue today", "value": f"{today['revenue']} {currency}"},
                {"title": "Average order", "value": f"{today['average_order_value']} {currency}"},
                {"title": "Units sold today", "value": today["units"]},
            ],
            "dashboard_low_stock": {
                "headers": ["SKU", "Product", "Left", "Threshold"],
                "rows": [
                    [
                        format_html(
                            '<a href="{}" class="text-primary-600">{}</a>',
                            reverse("admin:products_variant_change", args=[v.pk]),
                            v.sku,
                        ),
                        v.product.name,
                        v.stock_quantity,
                        v.low_stock_threshold,
                    ]
                    for v in data["low"]
                ],
            },
            "dashboard_recent": {
                "headers": ["Order", "Email", "Status", "Total", "Placed"],
                "rows": [
                    [
                        format_html(
                            '<a href="{}" class="text-primary-600">{}</a>',
                            reverse("admin:orders_order_change", args=[o.pk]),
                            o.number,
                        ),
                        o.email,
                        o.get_status_display(),
                        f"{o.grand_total} {o.currency}",
                        timezone.localtime(o.placed_at).strftime("%Y-%m-%d %H:%M"),
                    ]
                    for o in data["recent"]
                ],
            },
        }
    )
    return context
