"""Metrics (/metrics, api/metrics.py), readiness (/api/health/ready, api/health.py) and Sentry
(api/sentry.py)."""

from .env import env

# Bearer token Prometheus sends to /metrics. Without it /metrics answers only when DEBUG is on.
# It also shows /api/health/ready's per-check details (as a staff access token does).
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# Anonymous readiness calls per client address, except from HEALTH_PROBE_NETWORKS (429 beyond).
HEALTH_READY_RATE = env("HEALTH_READY_RATE", default="60/min")
# Where probes come from: the host itself (Docker's healthcheck), the container network, an
# orchestrator's nodes, the balancer's private address. Never limited; strangers come from
# public addresses (behind nginx, with RATE_LIMIT_TRUSTED_PROXIES=1, the client's own).
HEALTH_PROBE_NETWORKS = env.list(
    "HEALTH_PROBE_NETWORKS",
    default=["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
)
# The broker check's answer is kept this long per process: a flood of readiness calls opens at
# most one broker connection per interval instead of one per call.
HEALTH_BROKER_CHECK_SECONDS = env.float("HEALTH_BROKER_CHECK_SECONDS", default=5.0)

SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from api.sentry import init_sentry as _init_sentry

    _init_sentry(
        SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        release=env("SENTRY_RELEASE", default=None),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
