"""Celery: queues, routing, delivery guarantees and worker behaviour (docs/architecture.md §5).

Queues are named after the work. A task whose name equals a queue goes there; a name that starts
with "<queue>." goes to that queue (reports.daily_sales -> reports); anything else (maintenance.*)
goes to "default". api.celery.route_task applies this rule. The default periodic tasks are each
topic's *_BEAT_SCHEDULES, composed into DEFAULT_BEAT_SCHEDULES in base.py; CELERY_TIMEZONE follows
TIME_ZONE there.
"""

from kombu import Exchange as _Exchange  # underscored names stay out of `from .celery import *`
from kombu import Queue as _Queue

from .env import env

TASK_QUEUE_NAMES = (
    "search.index_product",
    "inventory.adjust",
    "catalog.import",
    "email.send_order_confirmation",
    "email.send_payment_received",
    "email.send_order_shipped",
    "email.send_order_delivered",
    "email.send_order_cancelled",
    "email.send_order_refunded",
    "email.send_welcome",
    "email.send_password_reset",
    "email.send_low_stock_alert",
    "email.send_refund_failed_alert",
    "email.send_refund_due_alert",
    "payment.webhook_process",
    "webhooks.deliver",
    "reports",
    "default",
)

# On RabbitMQ a message whose retries ran out is rejected and moved here by the broker (DLX).
# The Redis broker has no dead-lettering: there the FailedTask row is the only record.
DEAD_LETTER_EXCHANGE = "dead_letter"
DEAD_LETTER_QUEUE = "dead_letter"
# Dead-lettered messages are an archive (the admin retries from FailedTask rows): they expire.
DEAD_LETTER_TTL_SECONDS = env.int("DEAD_LETTER_TTL_SECONDS", default=14 * 24 * 3600)

_TASK_EXCHANGE = _Exchange("tasks", type="direct", durable=True)
CELERY_TASK_QUEUES = tuple(
    _Queue(
        name,
        _TASK_EXCHANGE,
        routing_key=name,
        durable=True,
        queue_arguments={"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE},
    )
    for name in TASK_QUEUE_NAMES
)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_DEFAULT_EXCHANGE = _TASK_EXCHANGE.name
CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
CELERY_TASK_ROUTES = ("api.celery.route_task",)

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
# Nothing reads a task's return value: every task records its outcome in the database (the rows
# it writes, FailedTask when retries run out) and Flower follows tasks through events. Storing
# results would be one Redis write per task, read by no one.
CELERY_TASK_IGNORE_RESULT = env.bool("CELERY_TASK_IGNORE_RESULT", default=True)
CELERY_TASK_TRACK_STARTED = True

# One message at a time per worker process: with late acks, a dying process loses at most one.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker that loses the broker stops its running tasks: their messages come back anyway.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# Recycle worker processes now and then so a slow leak cannot grow forever.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)

# Flower and the "sent" state need events.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True

CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis only: an unacknowledged message is handed out again after this long. It must exceed
    # the longest task and the longest retry delay, or a slow task would run twice.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
CELERY_BROKER_HEARTBEAT = 30
CELERY_BROKER_POOL_LIMIT = 10
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Task log lines go through LOGGING (JSON) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# django-celery-beat's tables, editable in the admin; api/beat.py installs DEFAULT_BEAT_SCHEDULES.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# -- the outbox (api/outbox.py): task messages written with the change they follow ----------------
OUTBOX_RELAY_BATCH = env.int("OUTBOX_RELAY_BATCH", default=200)
# A new row is its writer's to publish right after the commit for this long; beat's relay takes
# it after that (the writer died or the broker refused it). Far longer than a publish can take
# (OUTBOX_PUBLISH_RETRY_POLICY), so the two never both send a row that went out.
OUTBOX_HANDOFF_SECONDS = env.int("OUTBOX_HANDOFF_SECONDS", default=30)
# A failed publish waits base * 2**attempts seconds, at most the max, before the next try (beat's
# relay runs every 10 s; the writer tries once right after its commit).
OUTBOX_RETRY_BASE_SECONDS = env.int("OUTBOX_RETRY_BASE_SECONDS", default=2)
OUTBOX_RETRY_MAX_SECONDS = env.int("OUTBOX_RETRY_MAX_SECONDS", default=60)
# Sent rows are kept this long (what was sent, and when), then pruned.
OUTBOX_KEEP_DAYS = env.int("OUTBOX_KEEP_DAYS", default=7)
# A publish gives up quickly: the row stays and beat sends it, rather than a request waiting.
OUTBOX_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}

TASKS_BEAT_SCHEDULES = {
    "outbox relay": {
        "task": "maintenance.outbox_relay",
        "every_seconds": 10,
        "description": "Publish the task messages the request's own relay could not (broker "
        "down, process killed between commit and publish).",
    },
    "outbox prune": {
        "task": "maintenance.outbox_prune",
        "crontab": {"minute": "29", "hour": "4"},
        "description": "Delete outbox rows sent longer ago than OUTBOX_KEEP_DAYS.",
    },
}
