from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class IdempotencyRecord(models.Model):
    """The outcome of one unsafe request, kept under the client's Idempotency-Key."""

    scope = models.CharField(max_length=64)
    owner = models.CharField(max_length=128, help_text="Who sent the key: user, cart or staff.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "owner", "key"], name="idempotency_unique_scope_owner_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.owner}:{self.key}"


class FailedTask(models.Model):
    """A task job whose retries ran out: the dead-letter store staff can inspect and retry.

    One row per job (job_id header): a job retried from the admin that fails again updates its row.
    """

    class Status(models.TextChoices):
        FAILED = "failed", "Failed"
        RETRIED = "retried", "Retried, waiting for the outcome"
        RESOLVED = "resolved", "Resolved by a retry"

    job_id = models.CharField(max_length=128, unique=True)
    task_name = models.CharField(max_length=200, db_index=True)
    task_id = models.CharField(max_length=64, help_text="Celery id of the last failed run.")
    queue = models.CharField(max_length=200, blank=True)
    trace_id = models.CharField(max_length=128, blank=True, db_index=True)
    args = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    headers = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    exception = models.TextField(help_text="Type and message of the last error.")
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(help_text="Attempts in the last run (retries + 1).")
    times_failed = models.PositiveIntegerField(
        default=1, help_text="How often the job ran out of retries."
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.FAILED, db_index=True
    )
    first_failed_at = models.DateTimeField(help_text="First failed attempt of the job.")
    last_failed_at = models.DateTimeField(db_index=True)
    retry_count = models.PositiveIntegerField(default=0, help_text="Retries started by staff.")
    retried_at = models.DateTimeField(null=True, blank=True)
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_failed_at"]
        permissions = [("retry_failedtask", "Can retry failed tasks")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_failed_at__gte=models.F("first_failed_at")),
                name="failedtask_last_after_first",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name} [{self.job_id}]"


class InstalledBeatSchedule(models.Model):
    """A default periodic task (settings.DEFAULT_BEAT_SCHEDULES) as api.beat last installed it.

    Comparing a PeriodicTask with this fingerprint tells whether staff edited it since (then it is
    left alone) and whether one that is gone was deleted by staff (then it is not recreated).
    """

    name = models.CharField(max_length=200, unique=True)
    fingerprint = models.CharField(max_length=64)
    installed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class OutboxMessage(models.Model):
    """A task message written in the transaction of the change it follows (api/outbox.py).

    Committed with the change or not at all; the relay publishes it after the commit, and beat
    publishes whatever is left (the broker was down, the process died in between). `sent_at`
    marks it published; a row is published by one relay only (its row lock).
    """

    task_name = models.CharField(max_length=200, db_index=True)
    args = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    headers = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    options = models.JSONField(
        default=dict, encoder=DjangoJSONEncoder, help_text="countdown, queue, ... as given."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    available_at = models.DateTimeField(
        default=timezone.now, help_text="Not published before (a failed publish backs off)."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Publishes that failed.")
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The relay's scan: only the unsent rows, in the order they became due.
            models.Index(
                fields=["available_at", "id"],
                condition=models.Q(sent_at__isnull=True),
                name="outbox_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name} #{self.pk}"
