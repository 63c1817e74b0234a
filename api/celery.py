"""The Celery app, configured from Django settings (CELERY_* names; see api/settings/celery.py).

Workers: `celery -A api worker` consumes every queue; `-Q reports` or `-Q email.send_welcome,...`
one or some of them. Beat: `celery -A api beat` (schedules live in django-celery-beat).
"""

from __future__ import annotations

import logging
import os

from celery import Celery, bootsteps, signals

from api.beat import install_default_schedules

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings.dev")

logger = logging.getLogger("api.celery")

app = Celery("emporium", task_cls="api.tasks:BaseTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def queue_for(task_name: str) -> str:
    """The queue named like the task, or whose name is a dotted prefix of it; else "default"."""
    from django.conf import settings

    best = ""
    for queue in settings.TASK_QUEUE_NAMES:
        if (task_name == queue or task_name.startswith(queue + ".")) and len(queue) > len(best):
            best = queue
    return best or settings.CELERY_TASK_DEFAULT_QUEUE


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router (CELERY_TASK_ROUTES): an explicit queue= in the call still wins."""
    return {"queue": queue_for(name)}


def dead_letter_queue():
    """The queue RabbitMQ moves rejected messages to (fanout exchange, so every queue's land)."""
    from django.conf import settings
    from kombu import Exchange, Queue

    return Queue(
        settings.DEAD_LETTER_QUEUE,
        Exchange(settings.DEAD_LETTER_EXCHANGE, type="fanout", durable=True),
        routing_key="#",
        durable=True,
        queue_arguments={"x-message-ttl": settings.DEAD_LETTER_TTL_SECONDS * 1000},
    )


def declare_dead_letter_queue(connection) -> bool:
    """Declare the dead-letter exchange and queue on an AMQP broker; False on other brokers."""
    if connection.transport.driver_type != "amqp":
        return False  # Redis cannot dead-letter: the FailedTask row is the record there
    dead_letter_queue()(connection.default_channel).declare()
    return True


class DeadLetterQueueStep(bootsteps.StartStopStep):
    """Workers reject the messages, so a worker makes sure the place they go to exists: on its
    broker connection, each time it (re)connects, before it consumes anything."""

    requires = {"celery.worker.consumer.connection:Connection"}

    def start(self, consumer) -> None:
        if declare_dead_letter_queue(consumer.connection):
            logger.info("dead-letter queue declared")


app.steps["consumer"].add(DeadLetterQueueStep)


@signals.beat_init.connect
def _install_default_schedules(sender=None, **kwargs) -> None:
    report = install_default_schedules()
    logger.info("default beat schedules installed", extra={"schedules": report})
