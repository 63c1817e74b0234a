"""The payment tests' helpers and fixtures (registered in the root conftest.py): the Stripe stand-in
(payments.stripe_standin on 127.0.0.1, which the real `stripe` library talks to), signed webhook
deliveries, and `flaky_provider`, a payment provider that fails as a network would."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
import stripe

from payments.stripe_standin import StripeStandin
from payments.tests.providers import FlakyProvider

WEBHOOK_SECRET = "whsec_test_standin"


@pytest.fixture(scope="session")
def _standin_server():
    server = StripeStandin().start()
    yield server
    server.stop()


# What payments_reconcile reports when no task left anything undone.
NOTHING_UNDONE = {"refunds_resent": 0, "cancels_done": 0, "webhooks_processed": 0}


@pytest.fixture
def standin(_standin_server, settings):
    """A fresh stand-in, with the shop's Stripe settings pointed at it (short timeouts)."""
    _standin_server.reset()
    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_standin"
    settings.STRIPE_API_BASE = _standin_server.url
    settings.STRIPE_TIMEOUT_SECONDS = 1.0
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    settings.PAYMENT_PROVIDERS = {
        **settings.PAYMENT_PROVIDERS,
        "stripe": "payments.providers.stripe.StripeProvider",
    }
    settings.SHIPPING_FLAT_RATE = Decimal("5.00")
    settings.SHIPPING_FREE_THRESHOLD = Decimal("50.00")
    settings.TAX_RATE = Decimal("0")
    return _standin_server


@pytest.fixture
def flaky_provider(settings) -> type[FlakyProvider]:
    """The "flaky" provider registered, its calls forgotten; set `failures_left` to fail starts."""
    settings.PAYMENT_PROVIDERS = {
        **settings.PAYMENT_PROVIDERS,
        "flaky": "payments.tests.providers.FlakyProvider",
    }
    FlakyProvider.failures_left = 0
    FlakyProvider.calls = []
    return FlakyProvider


def signature(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send (stripe's own helper)."""
    return stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp or int(time.time())
    )


def deliver(client, body: bytes, *, header: str | None = None):
    return client.post(
        "/api/payments/stripe/webhook",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header if header is not None else signature(body),
    )


def event_id(body: bytes) -> str:
    return json.loads(body)["id"]
