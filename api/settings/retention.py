"""Retention: how long the tables that only grow keep their rows, and the daily jobs that prune
them (each app's prune service, a batch of RETENTION_BATCH_SIZE rows per DELETE). 0 keeps a
table's rows forever. The outbox keeps its own (OUTBOX_KEEP_DAYS, api/settings/celery.py), and
open guest carts theirs (CART_GUEST_TTL_DAYS, api/settings/orders.py).
"""

from .env import env

# Idempotency records hold each checkout's answer (the order, a payment's client secret) for the
# client's retries, which come within minutes or, from a phone that was offline, a day or two.
IDEMPOTENCY_RECORD_KEEP_DAYS = env.int("IDEMPOTENCY_RECORD_KEEP_DAYS", default=3)
# Dead letters a retry resolved; failed and retried ones stay until staff resolve them.
FAILED_TASK_RESOLVED_KEEP_DAYS = env.int("FAILED_TASK_RESOLVED_KEEP_DAYS", default=30)
# Sent emails' event keys (an email is sent once per key): every event that sends one happens
# within days, so after this long no key is asked for again.
SENT_EMAIL_KEEP_DAYS = env.int("SENT_EMAIL_KEEP_DAYS", default=90)
# Processed provider webhooks (what Stripe said, for a dispute or an audit); unprocessed ones stay
# until reconciliation or staff settle them. Stripe redelivers for at most three days.
WEBHOOK_EVENT_KEEP_DAYS = env.int("WEBHOOK_EVENT_KEEP_DAYS", default=90)
# Outgoing webhooks' events, with their deliveries and each attempt, once every delivery of the
# event is finished (delivered, or given up): what staff look at when a receiver asks "did you send
# it?", and what "Send again" needs. Deliveries still being retried stay.
WEBHOOK_DELIVERY_KEEP_DAYS = env.int("WEBHOOK_DELIVERY_KEEP_DAYS", default=30)
# Search queries nobody has searched for this long leave the query report.
SEARCH_QUERY_STAT_KEEP_DAYS = env.int("SEARCH_QUERY_STAT_KEEP_DAYS", default=90)
# Lines of checked-out carts: the order holds its own snapshot of them; the cart row stays (its
# order points at it, and its guest token still answers 409 cart_checked_out).
CART_CLOSED_LINES_KEEP_DAYS = env.int("CART_CLOSED_LINES_KEEP_DAYS", default=30)

# Rows per DELETE: each batch is a short statement of its own, so pruning a large backlog never
# holds many rows locked for long.
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=5000)

# Retention's part of DEFAULT_BEAT_SCHEDULES (composed in base.py); closed carts' lines go with
# the daily "purge stale carts" (api/settings/orders.py).
RETENTION_BEAT_SCHEDULES = {
    "prune idempotency records": {
        "task": "maintenance.prune_idempotency_records",
        "crontab": {"minute": "5", "hour": "4"},
        "description": "Delete idempotency records older than IDEMPOTENCY_RECORD_KEEP_DAYS.",
    },
    "prune failed tasks": {
        "task": "maintenance.prune_failed_tasks",
        "crontab": {"minute": "11", "hour": "4"},
        "description": "Delete resolved dead letters older than FAILED_TASK_RESOLVED_KEEP_DAYS.",
    },
    "prune sent emails": {
        "task": "maintenance.prune_sent_emails",
        "crontab": {"minute": "17", "hour": "4"},
        "description": "Delete sent-email records older than SENT_EMAIL_KEEP_DAYS.",
    },
    "prune webhook events": {
        "task": "maintenance.prune_webhook_events",
        "crontab": {"minute": "23", "hour": "4"},
        "description": "Delete processed webhook events older than WEBHOOK_EVENT_KEEP_DAYS.",
    },
    "prune webhook deliveries": {
        "task": "maintenance.prune_webhook_deliveries",
        "crontab": {"minute": "47", "hour": "4"},
        "description": "Delete outgoing webhook events finished longer than "
        "WEBHOOK_DELIVERY_KEEP_DAYS ago, with their deliveries and attempts.",
    },
    "prune search query stats": {
        "task": "maintenance.prune_search_query_stats",
        "crontab": {"minute": "35", "hour": "4"},
        "description": "Delete search queries not searched for SEARCH_QUERY_STAT_KEEP_DAYS.",
    },
}
