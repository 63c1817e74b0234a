"""Product images: checked with Pillow as real images, stored through the default storage."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from PIL import Image, UnidentifiedImageError

from api.errors import InvalidInput, PayloadTooLarge
from products.errors import ImageNotFound, ProductNotFound
from products.models import Product, ProductImage
from products.services.common import get_or_404
from products.services.events import products_changed_on_commit

logger = logging.getLogger("products.images")

FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def image_check(file: Any) -> str:
    """The file's extension by its real format; 413 above the size limit, 422 when it is not a
    JPEG, PNG, WebP or GIF image Pillow can read in full."""
    size = getattr(file, "size", None)
    if size is not None and size > settings.MAX_UPLOAD_SIZE:
        raise PayloadTooLarge(
            f"An image may be at most {settings.MAX_UPLOAD_SIZE // (1024 * 1024)} MB.",
            details={"max_bytes": settings.MAX_UPLOAD_SIZE, "size": size},
        )
    if not size:
        raise _invalid("The file is empty.")
    try:
        file.seek(0)
        with Image.open(file) as image:
            image_format = image.format
            width, height = image.size
            if width * height > settings.MAX_IMAGE_PIXELS:
                raise _invalid(f"The image has more than {settings.MAX_IMAGE_PIXELS} pixels.")
            image.verify()
        # verify() checks the structure; loading the pixels catches truncated data.
        file.seek(0)
        with Image.open(file) as image:
            image.load()
    except InvalidInput:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ):
        raise _invalid("The file is not an image this shop accepts.") from None
    finally:
        file.seek(0)
    if image_format not in FORMATS:
        raise _invalid(f"Images must be JPEG, PNG, WebP or GIF, not {image_format}.")
    return FORMATS[image_format]


def _invalid(message: str) -> InvalidInput:
    return InvalidInput.for_field("file", message, kind="invalid_image", code="invalid_image")


def product_image_add(
    *, product_id: int, file: Any, alt: str = "", position: int | None = None
) -> ProductImage:
    extension = image_check(file)
    with transaction.atomic():
        product = get_or_404(Product.objects.select_for_update(), product_id, ProductNotFound)
        if position is None:
            last = product.images.aggregate(last=Max("position"))["last"]
            position = 0 if last is None else last + 1
        image = ProductImage(product=product, alt=alt, position=position)
        image.image.save(f"upload.{extension}", file, save=False)
        try:
            image.save()
        except BaseException:
            _delete_files([image.image.name])
            raise
        products_changed_on_commit([product.pk])
    return image


@transaction.atomic
def product_image_update(
    *, image_id: int, alt: str | None = None, position: int | None = None
) -> ProductImage:
    image = get_or_404(ProductImage.objects.select_for_update(), image_id, ImageNotFound)
    if alt is not None:
        image.alt = alt
    if position is not None:
        image.position = position
    image.save(update_fields=["alt", "position"])
    products_changed_on_commit([image.product_id])
    return image


@transaction.atomic
def product_image_delete(*, image_id: int) -> None:
    image = get_or_404(ProductImage.objects.select_for_update(), image_id, ImageNotFound)
    image.delete()
    image_files_delete_on_commit([image.image.name])
    products_changed_on_commit([image.product_id])


def image_files_delete_on_commit(names: Iterable[str]) -> None:
    """Delete stored files once the rows are gone for good (kept when another row shares one)."""
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: _delete_files(names), robust=True)


def _delete_files(names: Iterable[str]) -> None:
    shared = set(ProductImage.objects.filter(image__in=list(names)).values_list("image", flat=True))
    for name in names:
        if name in shared:
            continue
        try:
            default_storage.delete(name)
        except Exception:
            logger.exception("could not delete an image file", extra={"file": name})
