"""Celery: queues, routing, delivery guarantees and worker behaviour (docs/architecture.md §5).

Queues are named after the work. A task whose name equals a queue goes there; a name that starts
with "<queue>." goes to that queue (reports.daily_sales -> reports); anything else (maintenance.*)
goes to "default". api.celery.route_task applies this rule.
"""

import environ as _environ
from kombu import Exchange as _Exchange
from kombu import Queue as _Queue

_env = _environ.Env()  # underscored names stay out of `from .celery import *`

TASK_QUEUE_NAMES = (
    "search.index_product",
    "inventory.adjust",
    "email.send_order_confirmation",
    "email.send_payment_received",
    "email.send_order_shipped",
    "email.send_order_cancelled",
    "email.send_order_refunded",
    "email.send_welcome",
    "email.send_password_reset",
    "email.send_low_stock_alert",
    "email.send_refund_failed_alert",
    "payment.webhook_process",
    "reports",
    "default",
)

# On RabbitMQ a message whose retries ran out is rejected and moved here by the broker (DLX).
# The Redis broker has no dead-lettering: there the FailedTask row is the only record.
DEAD_LETTER_EXCHANGE = "dead_letter"
DEAD_LETTER_QUEUE = "dead_letter"
# Dead-lettered messages are an archive (the admin retries from FailedTask rows): they expire.
DEAD_LETTER_TTL_SECONDS = _env.int("DEAD_LETTER_TTL_SECONDS", default=14 * 24 * 3600)

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
CELERY_TASK_TRACK_STARTED = True

# One message at a time per worker process: with late acks, a dying process loses at most one.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker that loses the broker stops its running tasks: their messages come back anyway.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SOFT_TIME_LIMIT = _env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = _env.int("CELERY_TASK_TIME_LIMIT", default=360)
# Recycle worker processes now and then so a slow leak cannot grow forever.
CELERY_WORKER_MAX_TASKS_PER_CHILD = _env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)

# Flower and the "sent" state need events.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True

CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis only: an unacknowledged message is handed out again after this long. It must exceed
    # the longest task and the longest retry delay, or a slow task would run twice.
    "visibility_timeout": _env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
CELERY_BROKER_HEARTBEAT = 30
CELERY_BROKER_POOL_LIMIT = 10
