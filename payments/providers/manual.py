"""Offline payments: `manual` (bank transfer) and `cod` (cash on delivery).

Nothing is called anywhere: starting gives the customer instructions, staff mark the order paid
when the money arrives (an event of kind `succeeded`), or, for cash on delivery, the order ships
unpaid and is paid when it is delivered. A refund is staff's to make outside the system: it is
answered `pending` here, becomes a staff task ("refund due"), and is done once staff confirm it.
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
    offline = True

    def instructions(self) -> str:
        return settings.MANUAL_PAYMENT_INSTRUCTIONS

    def start(self, payment, *, idempotency_key: str) -> ProviderResult:
        return ProviderResult(
            status="pending",
            reference=f"{self.name}:{payment.uuid}",
            client_data={
                "type": self.name,
                "instructions": self.instructions(),
                "reference": payment.order.number,
            },
            raw={"provider": self.name, "started": True},
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
            reference=f"{self.name}-refund:{idempotency_key}",
            amount=amount,
            status="pending",  # staff give the money back, then confirm it
            refund_uuid=(metadata or {}).get("refund_uuid", ""),
            raw={"provider": self.name, "refund_due": str(amount)},
        )

    def cancel(self, payment, *, idempotency_key: str) -> ProviderResult:
        return ProviderResult(
            status="cancelled",
            reference=payment.provider_reference,
            raw={"provider": self.name, "cancelled": True},
        )


class CashOnDeliveryProvider(ManualProvider):
    """Cash (or card) to the courier: the order ships unpaid and is paid when delivered."""

    name = "cod"
    ships_unpaid = True

    def instructions(self) -> str:
        return settings.COD_PAYMENT_INSTRUCTIONS
