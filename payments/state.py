"""The payment status machine: where a payment may go from where it is, and nowhere else.

    created -> pending | succeeded | failed | cancelled
    pending -> succeeded | failed | cancelled
    failed -> pending | succeeded | cancelled          (the customer tries another card)
    succeeded -> partially_refunded | refunded
    partially_refunded -> refunded

Providers answer late and out of order (a `failed` event after `succeeded`), so a move that is
not listed is ignored rather than refused: payment_transition() applies one move, forward only,
and says whether it happened. A refund counted into a payment that fails later at the provider
moves it back along REFUND_FAILED_TRANSITIONS, and only that path may (`table=`).
"""

from __future__ import annotations

from payments.models import Payment, PaymentStatus

S = PaymentStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.PENDING, S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    S.PENDING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    S.FAILED: frozenset({S.PENDING, S.SUCCEEDED, S.CANCELLED}),
    S.SUCCEEDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}

# Where a payment goes back to when a refund counted into it fails later at the provider (the
# money never left): only these, and only for that. Kept apart from TRANSITIONS so that a
# re-read intent (Stripe still says `succeeded` for a refunded one) never moves it back.
REFUND_FAILED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.SUCCEEDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.SUCCEEDED}),
}

# A payment in one of these may still collect money; cancelling the order stops it.
OPEN_STATUSES = (S.CREATED, S.PENDING, S.FAILED)
# A payment in one of these holds money that may be given back.
REFUNDABLE_STATUSES = (S.SUCCEEDED, S.PARTIALLY_REFUNDED)


def allowed(from_status: str, to_status: str, table: dict[str, frozenset[str]] = TRANSITIONS):
    return to_status in table.get(from_status, frozenset())


def payment_transition(
    payment: Payment, to: str, *, table: dict[str, frozenset[str]] = TRANSITIONS
) -> bool:
    """Set `payment.status` to `to` if `table` allows it from where it is; whether it moved.

    The caller holds the payment's row lock and saves it: a move is always one field among the
    others its caller records (the provider's answer, amounts), in one save.
    """
    if to == payment.status or not allowed(payment.status, to, table):
        return False
    payment.status = to
    return True
