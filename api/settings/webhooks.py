"""Outgoing webhooks (webhooks/): where deliveries may go, how long each waits, how long they are
retried, and the beat entry that sends the retries that are due. Retention of the delivery log is
in retention.py (WEBHOOK_DELIVERY_KEEP_DAYS)."""

from .env import env

# -- where a delivery may go (webhooks/transport.py) ---------------------------------------------
# Only https URLs, unless DEBUG is on or this is set (a receiver on a developer's machine).
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=False)
# Loopback, private, link-local, multicast and reserved addresses are refused (server-side
# request forgery: a URL naming the metadata service or the database); a test receiver or an
# internal system on a private network needs this on.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
# Per attempt: connecting, and each read of the answer; the whole answer has twice this.
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=5.0)
# What the attempt log keeps of a receiver's answer.
WEBHOOKS_RESPONSE_EXCERPT_CHARS = env.int("WEBHOOKS_RESPONSE_EXCERPT_CHARS", default=1000)

# -- retries: timeouts, connection errors, 5xx, 408 and 429 --------------------------------------
# 30 s doubling to an hour between attempts (with jitter), for this many hours after the event
# (or after "Send again"): about 30 attempts in a day.
WEBHOOKS_RETRY_BASE_SECONDS = env.float("WEBHOOKS_RETRY_BASE_SECONDS", default=30.0)
WEBHOOKS_RETRY_MAX_SECONDS = env.float("WEBHOOKS_RETRY_MAX_SECONDS", default=3600.0)
WEBHOOKS_RETRY_HOURS = env.int("WEBHOOKS_RETRY_HOURS", default=24)
# An endpoint whose every attempt failed for this long is disabled and staff are emailed.
WEBHOOKS_DISABLE_AFTER_HOURS = env.int("WEBHOOKS_DISABLE_AFTER_HOURS", default=24)
# Those emails go to these addresses; empty: to every active staff user.
WEBHOOKS_ALERT_EMAILS = env.list("WEBHOOKS_ALERT_EMAILS", default=[])
# Retries due are queued by beat at most this many per run.
WEBHOOKS_DUE_BATCH = env.int("WEBHOOKS_DUE_BATCH", default=500)

# Webhooks' part of DEFAULT_BEAT_SCHEDULES (composed in base.py).
WEBHOOKS_BEAT_SCHEDULES = {
    "webhook retries": {
        "task": "webhooks.deliver_due",
        "every_seconds": 30,
        "description": "Queue the webhook deliveries whose next attempt is due.",
    },
}
