"""What the order emails show: a plain dict built from the order's snapshots (not the catalog)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from orders.models import Order
from payments.providers import get_provider


def order_url(order: Order) -> str:
    return settings.ORDER_URL.format(number=order.number, token=order.token)


def order_email_context(order: Order) -> dict[str, Any]:
    payment = order.payments.order_by("-created_at", "-id").first()
    address = order.shipping_address or {}
    return {
        "order": {
            "number": order.number,
            "status": order.get_status_display(),
            "currency": order.currency,
            "subtotal": order.subtotal,
            "discount_total": order.discount_total,
            "shipping_total": order.shipping_total,
            "tax_total": order.tax_total,
            "grand_total": order.grand_total,
            "refunded_total": order.refunded_total,
            "coupon_code": order.coupon_code,
            "tracking_number": order.tracking_number,
            "carrier": order.carrier,
            "placed_at": order.placed_at,
            "url": order_url(order),
            "lines": [
                {
                    "name": line.product_name,
                    "variant": ", ".join(f"{v}" for v in line.attributes.values())
                    or line.variant_name,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "quantity_refunded": line.quantity_refunded,
                    "quantity_remaining": line.quantity_remaining,
                    "unit_price": line.unit_price,
                    "line_total": line.line_total,
                }
                for line in order.lines.order_by("id")
            ],
            "shipping_address": {
                "name": f"{address.get('first_name', '')} {address.get('last_name', '')}".strip(),
                "lines": [
                    address.get("company_name", ""),
                    address.get("street_address_1", ""),
                    address.get("street_address_2", ""),
                    " ".join(filter(None, [address.get("postal_code"), address.get("city")])),
                    address.get("country_area", ""),
                    address.get("country", ""),
                ],
            },
            "first_name": address.get("first_name", ""),
        },
        "payment_instructions": (payment.client_data or {}).get("instructions")
        if payment and get_provider(payment.provider).offline
        else None,
    }
