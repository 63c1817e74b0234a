"""Sentry for the API and the workers: on when SENTRY_DSN is set, nothing at all otherwise.

Called from the settings (api/settings/observability.py), so every process that loads Django
settings (gunicorn, runserver, celery worker and beat) reports its errors. Events carry the
request_id, trace_id and job_id of our JSON logs as tags, so an event leads to its log lines.
"""

from __future__ import annotations

from typing import Any

from api import context


def _tag_with_ids(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    tags = event.setdefault("tags", {})
    for name, var in (
        ("request_id", context.request_id_var),
        ("trace_id", context.trace_id_var),
        ("job_id", context.job_id_var),
    ):
        value = var.get()
        if value:
            tags.setdefault(name, value)
    return event


def init_sentry(
    dsn: str, *, environment: str, release: str | None, traces_sample_rate: float
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=False)],
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,  # customer emails and addresses stay out of Sentry
        before_send=_tag_with_ids,
    )
