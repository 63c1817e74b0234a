"""Payments: providers, Stripe, the webhook and reconciliation (PAYMENT_PROVIDERS starts in
orders.py with `manual`; Stripe joins it here when its keys are set)."""

from .auth import RATE_LIMITS
from .base import DEFAULT_BEAT_SCHEDULES, env
from .orders import PAYMENT_PROVIDERS

# -- Stripe: enabled when both secrets are set (test keys sk_test_... / whsec_... locally) --------
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Given to clients by GET /api/payments/providers (Stripe.js needs it); not a secret.
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
# Another server speaking Stripe's API (manage.py stripe_standin, tests); empty: api.stripe.com.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
# Per attempt; the library retries timeouts, connection errors, 409 and 5xx with the same key.
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# Stripe's own default: a signature older than this is refused (replays).
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
if STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET:
    PAYMENT_PROVIDERS["stripe"] = "payments.providers.stripe.StripeProvider"

# -- reconciliation: remote payments still open after this long are re-read from the provider --
PAYMENT_RECONCILE_AFTER_MINUTES = env.int("PAYMENT_RECONCILE_AFTER_MINUTES", default=10)
PAYMENT_RECONCILE_BATCH = env.int("PAYMENT_RECONCILE_BATCH", default=200)
DEFAULT_BEAT_SCHEDULES["reconcile payments"] = {
    "task": "maintenance.payment_reconcile",
    "every_seconds": 600,
    "description": "Settle provider payments pending longer than PAYMENT_RECONCILE_AFTER_MINUTES "
    "(a lost webhook never leaves a paid order unpaid).",
}

# The webhook and the provider list: Stripe delivers bursts from a few addresses and a 429 would
# only delay payments (every delivery is signed and checked before anything is written).
RATE_LIMITS.setdefault("payments", None)
