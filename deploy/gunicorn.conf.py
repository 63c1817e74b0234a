"""gunicorn settings for the API container (docker-compose.prod.yml runs it behind nginx).

Every value can be changed through the environment. With PROMETHEUS_MULTIPROC_DIR set, each worker
process writes its request metrics there and /metrics sums them all: the folder is emptied when
gunicorn starts and a worker's files are retired when it exits (api/metrics.py).
"""

import os
import shutil
from pathlib import Path

wsgi_app = "api.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow forever (jitter: not all at once).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# nginx sets X-Forwarded-Proto; only trust it from the proxy network (the compose default).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# The API logs one JSON line per request itself (api.middleware); gunicorn logs only errors.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        # Counts of a previous run would be added to this one's.
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
