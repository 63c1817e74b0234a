"""The base class of every Celery task (set as the app's task_cls in api/celery.py).

Tasks take ids, are safe to run twice, and are enqueued after commit with
`some_task.delay_on_commit(order_id)` (never for a transaction that rolls back). A task's name
is the name of its queue or starts with it: `email.send_order_confirmation`, `reports.daily_sales`.
"""

from __future__ import annotations

from celery.contrib.django.task import DjangoTask


class BaseTask(DjangoTask):
    # Acknowledged after it ran: a worker that dies mid-task leaves the message to be redelivered.
    acks_late = True
    reject_on_worker_lost = True
    # Retried with exponential backoff and jitter; 5 attempts in all.
    autoretry_for = (Exception,)
    max_retries = 4
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
