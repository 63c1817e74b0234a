"""Run payments.stripe_standin on its own, for local development without Stripe test keys."""

import time

import httpx
import stripe
from django.core.management.base import BaseCommand

from payments.stripe_standin import StripeStandin


class Command(BaseCommand):
    help = (
        "A local stand-in for Stripe's API (PaymentIntents, refunds) on 127.0.0.1. Run the API "
        "with STRIPE_API_BASE=http://127.0.0.1:<port>, STRIPE_SECRET_KEY=sk_test_local and "
        "STRIPE_WEBHOOK_SECRET=<the --webhook-secret>; with --forward-to, confirming or cancelling "
        "an intent or refunding sends the signed webhook Stripe would send."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=12111)
        parser.add_argument(
            "--forward-to",
            default="",
            help="Webhook URL, e.g. http://127.0.0.1:8000/api/payments/stripe/webhook",
        )
        parser.add_argument("--webhook-secret", default="whsec_local")

    def handle(self, *args, **options):
        url, secret = options["forward_to"], options["webhook_secret"]

        def forward(body: bytes) -> None:
            header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
            try:
                answer = httpx.post(
                    url,
                    content=body,
                    headers={"Stripe-Signature": header, "Content-Type": "application/json"},
                    timeout=10,
                )
                self.stdout.write(f"webhook -> {url}: {answer.status_code}")
            except httpx.HTTPError as exc:
                self.stderr.write(f"webhook -> {url} failed: {exc}")

        standin = StripeStandin(port=options["port"], on_event=forward if url else None).start()
        self.stdout.write(f"Stripe stand-in on {standin.url} (Ctrl+C stops it)")
        if url:
            self.stdout.write(f"forwarding webhooks to {url}, signed with {secret}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            standin.stop()
