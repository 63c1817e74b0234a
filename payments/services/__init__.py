"""Payments: create with the order, start after its commit, apply provider events, cancel, refund.

Where each happens (one module each):
- lifecycle: payment_create inside the checkout transaction; payment_start after its commit,
  outside every lock; payment_event_apply / payment_record_manual; payment_cancel;
- sync: payment_sync applies what a remote provider holds (forward only, amount and currency
  checked, mismatches flagged for staff); payment_refresh re-reads it; payment_review_resolve;
- refunds: payment_refund (once per key) and payment_refunds_sync (the provider's refunds,
  each booked once; one that failed later taken back out once);
- webhooks: webhook_receive stores a verified delivery once; webhook_event_process acts on it;
- reconcile: payments_reconcile settles what lost webhooks left pending.

Statuses move only as payments/state.py allows (payment_transition). Provider calls carry
idempotency keys derived from Payment.uuid and the step, so a retried step never happens twice
at a provider that honours them.
"""

from payments.services.lifecycle import (
    payment_cancel,
    payment_create,
    payment_event_apply,
    payment_expiry_check,
    payment_for_order,
    payment_record_collected,
    payment_record_manual,
    payment_start,
)
from payments.services.reconcile import payments_reconcile
from payments.services.refunds import (
    payment_refund,
    payment_refund_confirm,
    payment_refund_resend,
    payment_refunds_sync,
)
from payments.services.sync import (
    payment_flag,
    payment_refresh,
    payment_review_resolve,
    payment_sync,
)
from payments.services.webhooks import webhook_event_process, webhook_receive

__all__ = [
    "payment_cancel",
    "payment_create",
    "payment_event_apply",
    "payment_expiry_check",
    "payment_flag",
    "payment_for_order",
    "payment_record_collected",
    "payment_record_manual",
    "payment_refresh",
    "payment_refund",
    "payment_refund_confirm",
    "payment_refund_resend",
    "payment_refunds_sync",
    "payment_review_resolve",
    "payment_start",
    "payment_sync",
    "payments_reconcile",
    "webhook_event_process",
    "webhook_receive",
]
