"""Payments: the providers, Stripe, the webhook's rate limit and reconciliation.

PAYMENT_PROVIDERS is composed in base.py from BUILTIN_PAYMENT_PROVIDERS and
STRIPE_PAYMENT_PROVIDERS, which is empty unless both Stripe secrets are set.
"""

from .env import env

# name -> class implementing payments.providers.base.PaymentProvider.
BUILTIN_PAYMENT_PROVIDERS = {
    "manual": "payments.providers.manual.ManualProvider",  # bank transfer
    "cod": "payments.providers.manual.CashOnDeliveryProvider",
}
PAYMENT_DEFAULT_PROVIDER = env("PAYMENT_DEFAULT_PROVIDER", default="manual")
MANUAL_PAYMENT_INSTRUCTIONS = env(
    "MANUAL_PAYMENT_INSTRUCTIONS",
    default="Pay by bank transfer, quoting your order number; we ship once the payment arrives.",
)
COD_PAYMENT_INSTRUCTIONS = env(
    "COD_PAYMENT_INSTRUCTIONS", default="Pay the courier when your order is delivered."
)
# How long an unpaid order is held (its stock reserved) before it is cancelled, per provider, in
# minutes; a provider not listed uses ORDER_PAYMENT_TIMEOUT (Stripe: the customer pays at once);
# None: never automatically (cash on delivery is paid when it arrives; staff cancel a refusal).
PAYMENT_HOLD_MINUTES: dict[str, int | None] = {
    "manual": env.int("MANUAL_PAYMENT_HOLD_DAYS", default=5) * 24 * 60,
    "cod": None,
    **env.json("PAYMENT_HOLD_MINUTES", default={}),
}

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
STRIPE_PAYMENT_PROVIDERS = (
    {"stripe": "payments.providers.stripe.StripeProvider"}
    if STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET
    else {}
)

# -- reconciliation: remote payments still open after this long are re-read from the provider --
PAYMENT_RECONCILE_AFTER_MINUTES = env.int("PAYMENT_RECONCILE_AFTER_MINUTES", default=10)
PAYMENT_RECONCILE_BATCH = env.int("PAYMENT_RECONCILE_BATCH", default=200)
PAYMENTS_BEAT_SCHEDULES = {
    "reconcile payments": {
        "task": "maintenance.payment_reconcile",
        "every_seconds": 600,
        "description": "Settle provider payments pending longer than "
        "PAYMENT_RECONCILE_AFTER_MINUTES (a lost webhook never leaves a paid order unpaid).",
    },
}

# The webhook and the provider list: Stripe delivers bursts from a few addresses and a 429 would
# only delay payments (every delivery is signed and checked before anything is written).
PAYMENTS_RATE_LIMITS = {"payments": None}
