"""What the benchmarks' gunicorn runs: the production settings as shipped, with the URLconf that
adds the floor endpoints (bench/urls.py). bench/server.py passes the services and the secrets
prod.py requires through the environment."""

from api.settings.prod import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
