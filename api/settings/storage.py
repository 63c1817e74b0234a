"""Static files, media storage (local files, or S3 through django-storages) and upload limits."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .env import BASE_DIR, DATA_DIR, env

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(DATA_DIR / "media")))
# Where `manage.py db_backup` writes its archives unless given a path (api/backup.py).
BACKUP_DIR = Path(env("BACKUP_DIR", default=str(DATA_DIR / "backups")))

# Product images and other uploads: larger files are refused with 413 while they arrive.
MAX_UPLOAD_SIZE = env.int("MAX_UPLOAD_SIZE", default=10 * 1024 * 1024)
# Images above this many pixels are refused (decompression bombs).
MAX_IMAGE_PIXELS = env.int("MAX_IMAGE_PIXELS", default=40_000_000)
FILE_UPLOAD_HANDLERS = [
    "products.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]


def storages(environ: Mapping[str, str]) -> dict[str, Any]:
    """Local files under MEDIA_ROOT, or S3 when AWS_STORAGE_BUCKET_NAME is set."""
    bucket = environ.get("AWS_STORAGE_BUCKET_NAME")
    if bucket:
        options: dict[str, Any] = {
            "bucket_name": bucket,
            "location": environ.get("AWS_LOCATION", "media"),
            "region_name": environ.get("AWS_S3_REGION_NAME") or None,
            "endpoint_url": environ.get("AWS_S3_ENDPOINT_URL") or None,
            "custom_domain": environ.get("AWS_S3_CUSTOM_DOMAIN") or None,
            "addressing_style": environ.get("AWS_S3_ADDRESSING_STYLE") or None,
            # Public URLs: signed ones expire, and cached catalog answers would carry them.
            "querystring_auth": environ.get("AWS_QUERYSTRING_AUTH", "").lower() in {"1", "true"},
            "file_overwrite": False,
            "default_acl": environ.get("AWS_DEFAULT_ACL") or None,
        }
        if environ.get("AWS_ACCESS_KEY_ID"):
            options["access_key"] = environ["AWS_ACCESS_KEY_ID"]
            options["secret_key"] = environ.get("AWS_SECRET_ACCESS_KEY", "")
        default = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
    else:
        default = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
        }
    return {
        "default": default,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


STORAGES = storages(env.ENVIRON)
