"""Metrics (/metrics, api/metrics.py) and Sentry (api/sentry.py)."""

from .env import env

# Bearer token Prometheus sends to /metrics. Without it /metrics answers only when DEBUG is on.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from api.sentry import init_sentry as _init_sentry

    _init_sentry(
        SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        release=env("SENTRY_RELEASE", default=None),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
