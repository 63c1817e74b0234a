"""The `manual` provider: offline payment (bank transfer, cash on delivery).

Nothing is called anywhere: starting gives the customer instructions, staff mark the order paid
when the money arrives (an event of kind `succeeded`), refunds and cancellations are made by staff
outside the system and only recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings

from payments.providers.base import (
    InvalidProviderEvent,
    PaymentProvider,
    ProviderEvent,
    ProviderRefund,
    ProviderResult,
)


class ManualProvider(PaymentProvider):
    name = "manual"

    def start(self, payment, *, idempotency_key: str) -> ProviderResult:
        return ProviderResult(
            status="pending",
            reference=f"manual:{payment.uuid}",
            client_data={
                "type": "manual",
                "instructions": settings.MANUAL_PAYMENT_INSTRUCTIONS,
                "reference": payment.order.number,
            },
            raw={"provider": "manual", "started": True},
        )

    def parse_event(self, *, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Staff's record of a payment: {"id", "reference", "kind", "amount"} as JSON."""
        try:
            data = json.loads(body)
            return ProviderEvent(
                event_id=str(data["id"]),
                reference=str(data["reference"]),
                kind=data["kind"],
                type=f"manual.{data['kind']}",
                amount=Decimal(str(data["amount"])) if data.get("amount") is not None else None,
                raw=data,
            )
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise InvalidProviderEvent(f"not a manual payment event: {exc}") from None

    def refund(
        self, payment, *, amount: Decimal, idempotency_key: str, metadata=None
    ) -> ProviderRefund:
        return ProviderRefund(
            reference=f"manual-refund:{idempotency_key}",
            amount=amount,
            status="succeeded",
            refund_uuid=(metadata or {}).get("refund_uuid", ""),
            raw={"provider": "manual", "refunded": str(amount), "note": "refunded by staff"},
        )

    def cancel(self, payment, *, idempotency_key: str) -> ProviderResult:
        return ProviderResult(
            status="cancelled",
            reference=payment.provider_reference,
            raw={"provider": "manual", "cancelled": True},
        )
