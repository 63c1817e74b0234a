"""Metrics (/metrics, api/metrics.py) and Sentry (api/sentry.py)."""

import environ as _environ

_env = _environ.Env()  # underscored names stay out of `from .observability import *`

# Bearer token Prometheus sends to /metrics. Without it /metrics answers only when DEBUG is on.
METRICS_TOKEN = _env("METRICS_TOKEN", default="")

SENTRY_DSN = _env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from api.sentry import init_sentry as _init_sentry

    _init_sentry(
        SENTRY_DSN,
        environment=_env("SENTRY_ENVIRONMENT", default="production"),
        release=_env("SENTRY_RELEASE", default=None),
        traces_sample_rate=_env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
