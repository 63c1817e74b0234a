"""Stand-in providers for tests: one that fails a set number of starts, as a network would."""

from __future__ import annotations

from payments.providers.base import PaymentProviderError, ProviderResult
from payments.providers.manual import ManualProvider


class FlakyProvider(ManualProvider):
    name = "flaky"
    failures_left = 0
    calls: list[str] = []

    def start(self, payment, *, idempotency_key: str) -> ProviderResult:
        type(self).calls.append(idempotency_key)
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            raise PaymentProviderError("connection reset by peer")
        return ProviderResult(
            status="pending",
            reference=f"flaky_{payment.uuid}",
            client_data={"client_secret": "flaky_secret"},
            raw={"id": f"flaky_{payment.uuid}"},
        )
