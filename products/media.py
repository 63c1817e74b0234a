"""Where a stored file is served from: the one place the catalog turns a storage name into a URL
(local media in development, S3 or a CDN domain in production: settings.STORAGES decides)."""

from __future__ import annotations

from django.core.files.storage import default_storage


def image_url(name: str | None) -> str | None:
    return default_storage.url(name) if name else None
