"""gunicorn settings for the API container (docker-compose.prod.yml runs it behind nginx).

Every value can be changed through the environment.

1. The master imports the project once (`preload_app`) and does what a worker's first request
   would (api/wsgi.py `warm_up`: the URLconf, the startup gate's migration check, the cache
   client), then forks the workers: a worker starts in milliseconds instead of the ~2.5 s an
   import takes, answers its first request as fast as its next, and the imported code's memory
   is shared between the workers.
2. Before each fork the master closes whatever connection importing may have opened (database,
   broker; api/wsgi.py `close_connections`): a socket inherited by two processes would carry
   both processes' queries. Each worker drops the closed broker pools (`after_fork`) and opens
   its own connections on its first request (Redis clients reconnect by themselves when they
   find a new process id).
3. A worker is recycled (finishes its request, exits at once, `worker_exit`, and the master
   forks a new one) when its peak resident memory passes GUNICORN_MAX_WORKER_MEMORY_MB, the
   guard against a slow leak, or after GUNICORN_MAX_REQUESTS requests (with 10% jitter, so not
   all at once), a backstop rare enough that at 3,500 requests a second per worker (above the
   bare framework's best on the 2-core benchmark machine, docs/benchmarks.md) a worker restarts
   at most about once a minute.
4. With PROMETHEUS_MULTIPROC_DIR set, each worker process writes its request metrics there and
   /metrics sums them all: the folder is emptied when gunicorn starts and a worker's files are
   retired when it exits (api/metrics.py).
"""

import logging
import os
import resource
import shutil
import sys
from pathlib import Path

wsgi_app = "api.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "250000"))
max_requests_jitter = max_requests // 10
max_worker_memory_mb = int(os.environ.get("GUNICORN_MAX_WORKER_MEMORY_MB", "768"))
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
        # Counts of a previous run would be added to this one's. The preloaded import creates
        # no metric file (every request metric has labels), so nothing open is removed here.
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def when_ready(server):
    if server.cfg.preload_app:
        from api.wsgi import warm_up

        warm_up()


def pre_fork(server, worker):
    if server.cfg.preload_app:
        from api.wsgi import close_connections

        close_connections()


def post_fork(server, worker):
    if server.cfg.preload_app:
        from api.wsgi import after_fork

        after_fork()


def post_request(worker, req, environ, resp):
    # ru_maxrss: the peak resident set in KiB on Linux, one system call; a worker that grew past
    # the limit once (a leak, a huge export) finishes this request and is replaced.
    if (
        max_worker_memory_mb
        and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > max_worker_memory_mb * 1024
    ):
        worker.log.info("worker %s over %s MB: recycled", worker.pid, max_worker_memory_mb)
        worker.alive = False


def worker_exit(server, worker):
    # A worker that ended normally (recycled, or told to stop) leaves without Python's shutdown,
    # which touches every object it shares with the master, copying each page: 0.5-1 s here,
    # while its replacement waits to be forked. A worker that crashed exits the usual way.
    if worker.booted and not worker.alive:
        from api.wsgi import close_connections

        close_connections()
        sentry_sdk = sys.modules.get("sentry_sdk")  # imported only when SENTRY_DSN is set
        if sentry_sdk is not None:
            sentry_sdk.flush(timeout=2)
        logging.shutdown()
        os._exit(0)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
